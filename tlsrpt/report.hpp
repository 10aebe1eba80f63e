// The RFC 8460 section 4 aggregate report of one policy domain for one UTC day, as plain
// values: who reports (organization, contact), which day, the report id, and per distinct
// policy the success and failure session counts with their failure-detail rows. Built by the
// report builder from the day aggregate, written by report_json.hpp. No I/O. Strings are bytes
// as received; the writer makes them valid UTF-8. Empty descriptor strings mean "unknown".
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tlsrpt/report_types.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

// Session counts never wrap: a sum that would overflow stays at the maximum.
constexpr std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// One failure-details row with its failed-session-count.
struct FailureCount {
  FailureDetail detail;
  std::uint64_t sessions = 0;

  bool operator==(const FailureCount&) const = default;
};

// One entry of "policies": a distinct policy and what happened under it.
struct PolicyEntry {
  PolicyDescriptor policy;
  std::uint64_t successful_sessions = 0;  // total-successful-session-count
  std::uint64_t failed_sessions = 0;      // total-failure-session-count
  std::vector<FailureCount> failures;     // failure-details

  bool operator==(const PolicyEntry&) const = default;
};

struct Report {
  std::string organization_name;  // organization-name
  UtcDay day;                      // date-range: day 00:00:00Z to 23:59:59Z
  std::string contact_info;        // contact-info: an addr-spec
  std::string report_id;           // report-id: see report_naming.hpp
  // The domain the report is about (TLS-Report-Domain, file name). Written as the
  // policy-domain of every entry whose descriptor has none (RFC 8460 4.4: for
  // no-policy-found, the domain the sender delivered to).
  std::string policy_domain;
  std::vector<PolicyEntry> policies;

  bool operator==(const Report&) const = default;
};

// Makes a report canonical so that the same counts always give the same bytes: entries
// with equal descriptors become one (counts added), rows with equal details become one
// (counts added, zero-count rows dropped); entries and rows are sorted. Sums saturate at
// UINT64_MAX instead of wrapping.
void normalizeReport(Report& report);

}  // namespace mtasts::tlsrpt
