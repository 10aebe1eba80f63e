// `mtastsd --tlsrpt-status [--day YYYY-MM-DD] [--json]`: what the day store holds, per day,
// report domain and policy (success and failure counts, failure rows, where the sessions
// came from) and the collector counters the daemon stored with its last commit. Formatting
// is pure; readStatus() reads the store in its own read txn (safe beside a running daemon).
// The JSON's "policy", "summary" and "failure-details" are written by the report writer, so
// they are exactly what that day's report will carry for the entry.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/day_entry.hpp"
#include "tlsrpt/day_store.hpp"

namespace mtasts::tlsrpt {

struct StatusDay {
  UtcDay day;
  std::vector<DayEntry> entries;
};

struct StatusInput {
  std::vector<StatusDay> days;                 // ascending
  std::optional<CollectorCounters> collector;  // none: no daemon has committed yet
};

// One day (when given) or every day in the store, and the counters.
Result<StatusInput> readStatus(DayStore& store, std::optional<UtcDay> day);

// Text for operators: one block per entry, entries sorted by domain, then policy, then record;
// untrusted strings escaped (common/log.hpp escapeForLog).
std::string formatStatusText(const StatusInput& status);

// {"days": [{"day", "policy-domain", "tlsrpt-record" (when known), "policy", "summary",
//  "failure-details" (when any), "sources": {"datagram", "own-failure", "maillog"}}, ...],
//  "collector": {"started", "last-commit" (null: none yet), "received", "rejected",
//  "counters": {every stored counter by name}}}
// "days" is a flat list of entries in day order, each naming its day; "collector" is null
// when no counters are stored. 7-bit JSON, 2-space indented, ending in a newline.
std::string formatStatusJson(const StatusInput& status);

}  // namespace mtasts::tlsrpt
