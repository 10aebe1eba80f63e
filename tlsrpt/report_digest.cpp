#include "tlsrpt/report_digest.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <limits>

#include "common/domain.hpp"

namespace mtasts::tlsrpt {
namespace {

void addTo(DigestTotals& totals, std::uint64_t successful, std::uint64_t failed) {
  totals.successful = saturatingAdd(totals.successful, successful);
  totals.failed = saturatingAdd(totals.failed, failed);
}

// Lengths first, so that no split of the same bytes between the two strings collides.
std::array<unsigned char, 16> reportKey(const ReceivedReport& report) {
  std::string input = std::to_string(report.organization_name.size()) + ':' + report.organization_name +
                      std::to_string(report.report_id.size()) + ':' + report.report_id;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  std::array<unsigned char, 16> key{};
  std::copy(digest, digest + key.size(), key.begin());
  return key;
}

}  // namespace

ReportDigest::Outcome ReportDigest::add(const ReceivedReport& report, std::string_view domain_hint) {
  if (!seen_.insert(reportKey(report)).second) {
    ++duplicates_;
    return Outcome::Duplicate;
  }
  if (since_ && report.end < *since_) {
    ++before_window_;
    return Outcome::BeforeWindow;
  }
  ++counted_;
  const UtcDay day = utcDayOf(report.start);
  DigestGroup& group = groups_[{report.organization_name, day}];
  if (group.reports++ == 0) {
    group.organization = report.organization_name;
    group.day = day;
  }
  if (!report.contact_info.empty()) group.contacts.insert(report.contact_info);
  const std::string hint = toLowerAscii(domain_hint);
  for (const PolicyEntry& entry : report.policies) {
    PolicyDescriptor descriptor = entry.policy;
    const bool from_envelope = descriptor.domain.empty() && isValidHostname(hint);
    if (from_envelope) descriptor.domain = hint;
    auto [it, fresh] = group.policies.try_emplace(descriptor);
    DigestPolicy& policy = it->second;
    if (fresh) policy.policy = descriptor;
    policy.domain_from_envelope = policy.domain_from_envelope || from_envelope;
    policy.successful = saturatingAdd(policy.successful, entry.successful_sessions);
    policy.failed = saturatingAdd(policy.failed, entry.failed_sessions);
    addTo(group.totals, entry.successful_sessions, entry.failed_sessions);
    addTo(totals_, entry.successful_sessions, entry.failed_sessions);
    for (const FailureCount& row : entry.failures) {
      const DigestRowKey key{row.detail.result, row.detail.receiving_mx_hostname, row.detail.receiving_ip,
                             row.detail.sending_mta_ip, row.detail.failure_reason_code};
      auto& count = policy.rows[key];
      count = saturatingAdd(count, row.sessions);
      auto& group_type = group.totals.by_result[row.detail.result];
      group_type = saturatingAdd(group_type, row.sessions);
      auto& all_type = totals_.by_result[row.detail.result];
      all_type = saturatingAdd(all_type, row.sessions);
    }
  }
  return Outcome::Counted;
}

}  // namespace mtasts::tlsrpt
