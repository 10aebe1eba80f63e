#include "tlsrpt/collector_stats.hpp"

namespace mtasts::tlsrpt {

std::uint64_t CollectorCounters::value(std::string_view name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  return 0;
}

CollectorCounters CollectorStats::snapshot() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  CollectorCounters out;
  out.started_at = started_at.load(std::memory_order_relaxed);
  out.last_commit = last_commit.load(std::memory_order_relaxed);
  out.values = {
      {"received", get(received)},
      {"accepted", get(accepted)},
      {"rejected-invalid", get(rejected_invalid)},
      {"rejected-too-large", get(rejected_too_large)},
      {"rejected-truncated", get(rejected_truncated)},
      {"warned-count-mismatch", get(warned_count_mismatch)},
      {"warned-utf8-replaced", get(warned_utf8_replaced)},
      {"warned-unknown-members", get(warned_unknown_members)},
      {"warned-details-on-success", get(warned_details_on_success)},
      {"sessions-datagram", get(sessions[static_cast<std::size_t>(SessionSource::Datagram)])},
      {"sessions-own-failure", get(sessions[static_cast<std::size_t>(SessionSource::OwnFailure)])},
      {"sessions-maillog", get(sessions[static_cast<std::size_t>(SessionSource::Maillog)])},
      {"dropped-domain-bound", get(dropped_domain_bound)},
      {"dropped-policy-bound", get(dropped_policy_bound)},
      {"rejected-own-failures", get(rejected_own_failures)},
      {"overflow-rows", get(overflow_rows)},
      {"commits", get(commits)},
      {"commit-failures", get(commit_failures)},
      {"lost-sessions", get(lost_sessions)},
  };
  return out;
}

}  // namespace mtasts::tlsrpt
