#include "tlsrpt/report_retry.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace mtasts::tlsrpt {

UnixSeconds reportDueAt(UtcDay day, UnixSeconds delay) noexcept {
  return dayEnd(day) + 1 + std::max<UnixSeconds>(delay, 0);
}

std::optional<UnixSeconds> nextAttemptAfterFailure(const RetryPolicy& policy, UnixSeconds first_attempt,
                                                   std::uint32_t attempts, UnixSeconds now) noexcept {
  const UnixSeconds deadline = first_attempt + policy.window;
  if (now >= deadline) return std::nullopt;
  UnixSeconds delay = std::max<UnixSeconds>(policy.first_interval, 1);
  for (std::uint32_t i = 1; i < attempts && delay < policy.max_interval; ++i) delay *= 2;
  delay = std::min(delay, std::max<UnixSeconds>(policy.max_interval, 1));
  return std::min(now + delay, deadline);
}

bool processAlive(std::int64_t pid) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

bool claimable(const Delivery& d, const ClaimRules& rules) {
  switch (d.state) {
    case DeliveryState::Pending:
      return d.next_attempt <= rules.now || (rules.manual_since > 0 && d.last_attempt < rules.manual_since);
    case DeliveryState::Claimed: {
      if (d.claim_owner == rules.owner) return false;
      if (d.claim_pid == rules.pid) return true;
      if (d.claimed_at + rules.stale_after <= rules.now) return true;
      const auto& alive = rules.process_alive ? rules.process_alive : processAlive;
      return !alive(d.claim_pid);
    }
    case DeliveryState::Done:
    case DeliveryState::GivenUp: return false;
  }
  return false;
}

void applyClaim(Delivery& d, const ClaimRules& rules) {
  d.state = DeliveryState::Claimed;
  d.claim_owner = rules.owner;
  d.claim_pid = rules.pid;
  d.claimed_at = rules.now;
  if (d.first_attempt == 0) d.first_attempt = rules.now;
  d.last_attempt = rules.now;
  if (d.attempts < std::numeric_limits<std::uint32_t>::max()) ++d.attempts;
}

}  // namespace mtasts::tlsrpt
