#include "net/callback_guard.hpp"

#include "common/log.hpp"

#include <string>

namespace mtasts::net {

void logCallbackFailure(std::string_view module, std::string_view what, const char* error) noexcept {
  try {
    moduleLogger(std::string(module))
        ->error("{}: internal error error={}", what,
                error != nullptr ? escapeForLog(error) : std::string("(not a std::exception)"));
  } catch (...) {
    // Out of memory while logging: nothing left to report it with.
  }
}

}  // namespace mtasts::net
