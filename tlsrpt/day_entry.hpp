// DayEntry: what the TLS-RPT day aggregate counts and the day store keeps, one per UTC day
// of receipt, report domain, policy descriptor and TLSRPT record: success and failure
// session totals, failure-detail rows with counts, and which source the sessions came from.
// Plain values and pure functions (no I/O, no state): the aggregate (in memory, under its
// mutex) and the store (inside a write txn) merge with the same rules, so a bound holds
// however a day's sessions were split into commits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/report.hpp"
#include "tlsrpt/report_types.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

// Where sessions came from; shown by --tlsrpt-status, never in a report.
enum class SessionSource : std::uint8_t { Datagram = 0, OwnFailure = 1, Maillog = 2 };
inline constexpr std::size_t SessionSourceCount = 3;
// "datagram", "own-failure", "maillog".
std::string_view sessionSourceName(SessionSource source) noexcept;

// Bounds of one UTC day (config keys tlsrpt_max_*). Sessions past a bound are never counted
// twice and never silently: see DayAggregate and mergeDayEntry.
struct DayLimits {
  std::size_t max_detail_rows = 100;          // distinct failure rows per entry (overflow rows aside)
  std::size_t max_domains_per_day = 20'000;   // report domains per day
  std::size_t max_policies_per_domain = 32;   // entries (descriptor + record) per domain per day
};

struct DayEntry {
  UtcDay day;                  // the UTC day the sessions were received
  std::string domain;          // report domain, A-label: whose _smtp._tls rua gets the report
  std::string tlsrpt_record;   // libtlsrpt's "pr" as received; empty = unknown (looked up later)
  PolicyEntry counts;          // the descriptor, both totals and the failure rows (sorted)
  std::array<std::uint64_t, SessionSourceCount> sources{};  // sessions per SessionSource

  bool operator==(const DayEntry&) const = default;
};

// More distinct failure rows than max_detail_rows: the sessions of each further row are
// added to one overflow row per result type, which keeps the result type (the part of a row
// a receiver acts on) true and the report valid: only result-type, failure-reason-code and
// additional-information are set. At most one per result type, so at most 11 per entry.
inline constexpr std::string_view OverflowReasonCode = "mtastsd-detail-rows-overflow";
inline constexpr std::string_view OverflowInformation =
    "failures with more distinct details than the reporter keeps per policy and day";
FailureDetail overflowRow(TlsRptResultType result);
bool isOverflowRow(const FailureDetail& detail) noexcept;

// Adds `sessions` to the row equal to `detail` in `rows` (sorted by detail, kept sorted). A
// detail with no row yet gets one while fewer than max_rows non-overflow rows exist, else
// its sessions go to overflowRow(detail.result). Returns true in that case. Saturating.
bool addFailureRow(std::vector<FailureCount>& rows, const FailureDetail& detail, std::uint64_t sessions,
                   std::size_t max_rows);

// Adds from's totals, sources and rows to into (same day, domain, descriptor and record).
// Returns the failure sessions that went to overflow rows. Saturating.
std::uint64_t mergeDayEntry(DayEntry& into, const DayEntry& from, std::size_t max_rows);

// Counts one session into an entry: success or failure, its rows, its source.
// Returns the failure sessions that went to overflow rows.
std::uint64_t countSession(DayEntry& into, bool failed, const std::vector<FailureDetail>& rows, SessionSource source,
                           std::size_t max_rows);

// 128 bits of SHA-256 over the canonical encoding of (descriptor, record): what tells the
// entries of one day and domain apart in store keys. Stable across versions and processes.
using EntryDigest = std::array<std::uint8_t, 16>;
EntryDigest entryDigest(const PolicyDescriptor& policy, std::string_view tlsrpt_record);

// libtlsrpt's wire codes, also used on disk (fixed here, independent of the enum order):
// policy types 1 tlsa, 2 sts, 9 no-policy-found; result types 201-205, 301-306.
std::uint8_t policyTypeCode(PolicyType type) noexcept;
bool policyTypeFromCode(std::uint64_t code, PolicyType& out) noexcept;
std::uint16_t resultTypeCode(TlsRptResultType type) noexcept;
bool resultTypeFromCode(std::uint64_t code, TlsRptResultType& out) noexcept;

}  // namespace mtasts::tlsrpt
