// `mtastsd --tlsrpt-status [--day YYYY-MM-DD] [--json]` over a state directory: opens the
// LMDB env read-only (safe beside a running daemon: LMDB readers never block its writers),
// attaches the day store and formats what readStatus() finds (status_format.hpp). A store
// that no daemon has created yet is an empty status, not an error. Synchronous, main thread;
// errors (the env cannot be opened, a read fails) are a Result with the reason.
#pragma once

#include "common/result.hpp"
#include "tlsrpt/utc_day.hpp"

#include <optional>
#include <string>

namespace mtasts::tlsrpt {

Result<std::string> tlsrptStatusReport(const std::string& state_dir, std::optional<UtcDay> day, bool json);

}  // namespace mtasts::tlsrpt
