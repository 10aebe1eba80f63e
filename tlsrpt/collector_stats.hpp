// The counters of TLS-RPT collection: what the datagram reader received and refused, what
// the day aggregate counted or dropped at a bound, what the committer wrote or lost. Written
// by the reader thread, the event loop and the committer thread with relaxed atomics (each
// counter exact; a snapshot is not one instant), read by anyone: the committer stores a
// snapshot with every commit, so --tlsrpt-status next to the daemon can show it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "tlsrpt/day_entry.hpp"

namespace mtasts::tlsrpt {

// A snapshot as stored and shown: names as in the table below, in that order.
struct CollectorCounters {
  UnixSeconds started_at = 0;   // when this daemon's collection started
  UnixSeconds last_commit = 0;  // the last successful commit (0: none yet)
  std::vector<std::pair<std::string, std::uint64_t>> values;

  std::uint64_t value(std::string_view name) const;  // 0 when absent
  bool operator==(const CollectorCounters&) const = default;
};

struct CollectorStats {
  // Datagrams.
  std::atomic<std::uint64_t> received{0};            // read from the socket
  std::atomic<std::uint64_t> accepted{0};            // parsed and counted
  std::atomic<std::uint64_t> rejected_invalid{0};    // refused by the parser
  std::atomic<std::uint64_t> rejected_too_large{0};  // over a parser bound
  std::atomic<std::uint64_t> rejected_truncated{0};  // longer than the receive buffer (MSG_TRUNC)
  std::atomic<std::uint64_t> warned_count_mismatch{0};    // "t" != number of failure details
  std::atomic<std::uint64_t> warned_utf8_replaced{0};     // bytes that are not UTF-8 became U+FFFD
  std::atomic<std::uint64_t> warned_unknown_members{0};   // unknown members skipped
  std::atomic<std::uint64_t> warned_details_on_success{0};
  // Sessions.
  std::array<std::atomic<std::uint64_t>, SessionSourceCount> sessions{};  // counted, per source
  std::atomic<std::uint64_t> dropped_domain_bound{0};   // past tlsrpt_max_domains_per_day
  std::atomic<std::uint64_t> dropped_policy_bound{0};   // past tlsrpt_max_policies_per_domain
  std::atomic<std::uint64_t> rejected_own_failures{0};  // own failures with an invalid domain/type
  std::atomic<std::uint64_t> overflow_rows{0};          // failure counts that went to overflow rows
  // Commits.
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> commit_failures{0};
  std::atomic<std::uint64_t> lost_sessions{0};  // dropped after failed commits (bounded retry)
  std::atomic<std::int64_t> started_at{0};
  std::atomic<std::int64_t> last_commit{0};

  CollectorCounters snapshot() const;
};

}  // namespace mtasts::tlsrpt
