// The timing rules of report delivery, as pure functions (no clock, no I/O): when a day's
// reports are due (RFC 8460 4.1: after the day ends, spread by a random delay), when a
// failed destination is tried again (exponential backoff, 5.5: for up to 24 hours from its
// first attempt, then given up), and when a delivery record may be claimed by this process
// (pending and due, or claimed by a process that is gone: the one duplicate window).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/clock.hpp"
#include "tlsrpt/report_state_codec.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

struct RetryPolicy {
  UnixSeconds first_interval = 300;     // tlsrpt_report_retry_interval: after the first failure
  UnixSeconds max_interval = 4 * 3600;  // the doubling stops here
  UnixSeconds window = 86400;           // tlsrpt_report_retry: from the first attempt
};

// 00:00:00 UTC of the day after `day` plus `delay` (0 <= delay): when building may start.
UnixSeconds reportDueAt(UtcDay day, UnixSeconds delay) noexcept;

// After the failed attempt number `attempts` (1 = the first) at `now`: the next attempt,
// first_interval * 2^(attempts-1) later but at most max_interval, and never past the end of
// the window (so the last attempt is made at its end); nullopt once `now` reached the end
// of the window: give up.
std::optional<UnixSeconds> nextAttemptAfterFailure(const RetryPolicy& policy, UnixSeconds first_attempt,
                                                   std::uint32_t attempts, UnixSeconds now) noexcept;

// Who claims, and how stale claims of other processes are judged.
struct ClaimRules {
  UnixSeconds now = 0;
  std::uint64_t owner = 0;  // this process run's random token (never 0)
  std::int64_t pid = 0;
  // A manual --report: pending ones are due now, unless tried since this time (each one is
  // tried once per run); 0 = the daemon's schedule.
  UnixSeconds manual_since = 0;
  // A claim of another process older than this is stale whatever its pid says: no delivery
  // attempt lasts that long (the sendmail and HTTPS bounds are far below).
  UnixSeconds stale_after = 3600;
  // Whether the claiming process still runs (kill(pid, 0) by default).
  std::function<bool(std::int64_t pid)> process_alive;
};

// Pending and due (or, for a manual run, not tried since it began), or claimed by another
// process run that is gone or stale (another pid, dead or claiming for over stale_after; or
// our own pid with another owner token: a run before us that had our pid). A claim of our
// own run is in flight here: never claimable again.
bool claimable(const Delivery& delivery, const ClaimRules& rules);

// Marks it claimed by us and counts the attempt (the window starts at the first one).
void applyClaim(Delivery& delivery, const ClaimRules& rules);

// kill(pid, 0) succeeds or fails with EPERM.
bool processAlive(std::int64_t pid);

}  // namespace mtasts::tlsrpt
