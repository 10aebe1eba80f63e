// The RFC 8460 section 4 vocabulary every TLS-RPT part shares: which policy a session was
// under (policy type, strings, domain, mx patterns) and one failure-detail row. The
// datagram and mail-log collectors produce these, the day aggregate counts them, the
// report builder writes them. Plain values, no I/O. Empty strings mean "unknown": the
// report leaves those members out rather than writing "".
#pragma once

#include "common/tlsrpt_result_type.hpp"

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt {

// RFC 8460 4.4 policy-type; libtlsrpt's wire codes are 1, 2 and 9.
enum class PolicyType { Tlsa, Sts, NoPolicyFound };

constexpr std::string_view policyTypeName(PolicyType type) noexcept {
  switch (type) {
    case PolicyType::Tlsa: return "tlsa";
    case PolicyType::Sts: return "sts";
    case PolicyType::NoPolicyFound: return "no-policy-found";
  }
  return "no-policy-found";
}

// The "policy" object of a report entry: sessions are counted per distinct descriptor.
struct PolicyDescriptor {
  PolicyType type = PolicyType::NoPolicyFound;
  std::string domain;                    // policy-domain, A-label
  std::vector<std::string> strings;      // policy-string: one per policy line / TLSA record
  std::vector<std::string> mx_hosts;     // mx-host: the policy's mx patterns as written

  auto operator<=>(const PolicyDescriptor&) const = default;
};

// One failure-details row; identical rows are one row with a failed-session-count.
struct FailureDetail {
  TlsRptResultType result = TlsRptResultType::ValidationFailure;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::string additional_information;
  std::string failure_reason_code;

  auto operator<=>(const FailureDetail&) const = default;
};

}  // namespace mtasts::tlsrpt
