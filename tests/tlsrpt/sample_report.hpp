// The sample report the tlsrpt golden files and the DKIM verification tool are made from.
// Header-only, no test framework, so report_mail_tool links it too.
#pragma once

#include "tlsrpt/report.hpp"

namespace mtasts::tlsrpt::test {

// A report with one entry of each policy type: an STS policy with successes and three failure
// rows (one with every member known, two with some unknown), a TLSA policy, and a
// no-policy-found entry without a domain of its own.
inline Report sampleReport() {
  Report r;
  r.organization_name = "Example Sender Ltd";
  r.day = UtcDay{20786};  // 2026-11-29
  r.contact_info = "tlsrpt-noreply@sender.example";
  r.report_id = "2026-11-29.0123456789abcdef.example.com@sender.example";
  r.policy_domain = "example.com";

  PolicyEntry sts;
  sts.policy.type = PolicyType::Sts;
  sts.policy.domain = "example.com";
  sts.policy.strings = {"version: STSv1", "mode: enforce", "mx: mail.example.com",
                        "mx: *.example.net", "max_age: 604800"};
  sts.policy.mx_hosts = {"mail.example.com", "*.example.net"};
  sts.successful_sessions = 5326;
  sts.failed_sessions = 303;
  FailureCount expired;
  expired.detail.result = TlsRptResultType::CertificateExpired;
  expired.detail.sending_mta_ip = "2001:db8:abcd:12::1";
  expired.detail.receiving_mx_hostname = "mail.example.com";
  expired.detail.receiving_ip = "203.0.113.56";
  expired.detail.failure_reason_code = "certificate_has_expired";
  expired.sessions = 100;
  FailureCount nostarttls;
  nostarttls.detail.result = TlsRptResultType::StarttlsNotSupported;
  nostarttls.detail.sending_mta_ip = "192.0.2.25";
  nostarttls.detail.receiving_mx_hostname = "mx2.example.net";
  nostarttls.detail.receiving_mx_helo = "mx2.example.net";
  nostarttls.detail.receiving_ip = "198.51.100.7";
  nostarttls.detail.additional_information = "https://sender.example/tlsrpt/info?id=1";
  nostarttls.detail.failure_reason_code = "no STARTTLS in EHLO response";
  nostarttls.sessions = 200;
  FailureCount validation;
  validation.detail.result = TlsRptResultType::ValidationFailure;
  validation.detail.receiving_mx_hostname = "mail.example.com";
  validation.sessions = 3;
  sts.failures = {expired, nostarttls, validation};

  PolicyEntry tlsa;
  tlsa.policy.type = PolicyType::Tlsa;
  tlsa.policy.domain = "example.com";
  tlsa.policy.strings = {"3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"};
  tlsa.successful_sessions = 12;

  PolicyEntry none;
  none.policy.type = PolicyType::NoPolicyFound;
  none.successful_sessions = 1;
  none.failed_sessions = 1;
  FailureCount plain;
  plain.detail.result = TlsRptResultType::StarttlsNotSupported;
  plain.detail.receiving_ip = "198.51.100.8";
  plain.sessions = 1;
  none.failures = {plain};

  r.policies = {sts, tlsa, none};
  return r;
}

}  // namespace mtasts::tlsrpt::test
