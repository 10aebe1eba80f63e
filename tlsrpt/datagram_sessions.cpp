#include "tlsrpt/datagram_sessions.hpp"

#include <utility>

#include "tlsrpt/ehlo_name.hpp"

namespace mtasts::tlsrpt {

DatagramSessions sessionsOf(Datagram datagram) {
  DatagramSessions out;
  out.sessions.reserve(datagram.policies.size());
  for (auto& p : datagram.policies) {
    SessionOutcome& session = out.sessions.emplace_back();
    session.policy = std::move(p.policy);
    // RFC 8460 4.4 requires policy-domain; libtlsrpt lets a caller leave it out (sys4's
    // reports then omit it). The datagram's own domain is the one the session was for.
    if (session.policy.domain.empty()) session.policy.domain = datagram.domain;
    session.failed = p.failed;
    session.failure_details.reserve(p.failure_details.size());
    for (auto& d : p.failure_details) {
      FailureDetail& row = session.failure_details.emplace_back();
      row.result = d.result;
      row.sending_mta_ip = std::move(d.sending_mta_ip);
      row.receiving_mx_hostname = std::move(d.receiving_mx_hostname);
      row.receiving_mx_helo = heloNameFromEhlo(d.ehlo_response);
      row.receiving_ip = std::move(d.receiving_ip);
      row.additional_information = std::move(d.additional_information);
      row.failure_reason_code = std::move(d.failure_reason_code);
    }
  }
  out.report_domain = std::move(datagram.domain);
  out.tlsrpt_record = std::move(datagram.tlsrpt_record);
  return out;
}

}  // namespace mtasts::tlsrpt
