// The "policy" module logger, shared by the three parts of PolicyService (internal to
// policy/). Loop thread only, like the service.
#pragma once

#include "common/log.hpp"

#include <memory>

namespace mtasts::policy {

inline const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("policy");
  return logger;
}

}  // namespace mtasts::policy
