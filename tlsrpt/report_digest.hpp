// What --read-reports prints, summed: received reports grouped per reporting organization and
// UTC day (of the report's start-datetime), per distinct policy within that, failure rows
// merged by (result type, receiving MX, receiving IP, sending IP, reason code). Duplicates (the
// same report-id from the same organization, e.g. one report mailed to two rua addresses, or a
// mailbox read twice) count once. Plain values, no I/O; sums saturate instead of wrapping.
// Memory grows with distinct groups, policies and rows and 16 bytes (plus a set node) per
// report, not with the size of the input.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "tlsrpt/report_reader.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

struct DigestRowKey {
  TlsRptResultType result = TlsRptResultType::ValidationFailure;
  std::string receiving_mx;
  std::string receiving_ip;
  std::string sending_ip;
  std::string reason_code;  // failure-reason-code

  auto operator<=>(const DigestRowKey&) const = default;
};

struct DigestTotals {
  std::uint64_t successful = 0;
  std::uint64_t failed = 0;
  std::map<TlsRptResultType, std::uint64_t> by_result;  // sum of failed-session-count per type
};

struct DigestPolicy {
  PolicyDescriptor policy;
  // The report left policy-domain out; policy.domain came from the mail's TLS-Report-Domain
  // or the report file name (sys4's reporter does this for no-policy-found).
  bool domain_from_envelope = false;
  std::uint64_t successful = 0;
  std::uint64_t failed = 0;
  std::map<DigestRowKey, std::uint64_t> rows;
};

// Policies of a group in the order they are shown: by domain, then type, strings, mx.
struct PolicyDisplayOrder {
  bool operator()(const PolicyDescriptor& a, const PolicyDescriptor& b) const {
    return std::tie(a.domain, a.type, a.strings, a.mx_hosts) < std::tie(b.domain, b.type, b.strings, b.mx_hosts);
  }
};

struct DigestGroup {
  std::string organization;
  UtcDay day;
  std::size_t reports = 0;
  std::set<std::string> contacts;  // contact-info values seen (non-empty)
  std::map<PolicyDescriptor, DigestPolicy, PolicyDisplayOrder> policies;
  DigestTotals totals;
};

class ReportDigest {
 public:
  enum class Outcome { Counted, Duplicate, BeforeWindow };

  // since: keep only reports whose date range ends at or after it; nullopt keeps all.
  explicit ReportDigest(std::optional<UnixSeconds> since = std::nullopt) : since_(since) {}

  // domain_hint: the report's domain from outside the JSON (empty if unknown).
  Outcome add(const ReceivedReport& report, std::string_view domain_hint);

  // Ordered by organization (bytewise), then day.
  const std::map<std::pair<std::string, UtcDay>, DigestGroup>& groups() const noexcept { return groups_; }
  const DigestTotals& totals() const noexcept { return totals_; }
  std::optional<UnixSeconds> since() const noexcept { return since_; }
  std::size_t counted() const noexcept { return counted_; }
  std::size_t duplicates() const noexcept { return duplicates_; }
  std::size_t beforeWindow() const noexcept { return before_window_; }

 private:
  std::optional<UnixSeconds> since_;
  std::map<std::pair<std::string, UtcDay>, DigestGroup> groups_;
  // SHA-256 of (organization, report-id), first 128 bits: 16 bytes a report however long
  // its strings, and no crafted report-id can pass for another organization's report.
  std::set<std::array<unsigned char, 16>> seen_;
  DigestTotals totals_;
  std::size_t counted_ = 0;
  std::size_t duplicates_ = 0;
  std::size_t before_window_ = 0;
};

}  // namespace mtasts::tlsrpt
