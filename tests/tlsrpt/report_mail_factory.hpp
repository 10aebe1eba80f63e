// Report mails as mtastsd's reporter makes them (report_json.hpp, gzip.hpp, report_naming.hpp,
// report_mail.hpp), with varied domains and counts, for the --read-reports tests and the
// benchmark's generated mailboxes. Header-only, no test framework. Deterministic: the same
// index gives the same bytes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/result.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_mail.hpp"
#include "tlsrpt/report_naming.hpp"

namespace mtasts::tlsrpt::test {

struct MadeReport {
  Report report;
  std::string json;
  std::string gzip;
  std::string file_name;
  std::string mail;  // CRLF line ends, as handed to sendmail
};

// Report number `index` of `submitter` about domain d<index % domains>.example for `day`:
// an STS policy with index-dependent successes and one or two failure rows.
inline Result<MadeReport> makeReport(std::size_t index, UtcDay day, const std::string& submitter = "sender.example",
                                     std::size_t domains = 50) {
  MadeReport out;
  Report& r = out.report;
  const std::string domain = "d" + std::to_string(index % domains) + ".example";
  r.organization_name = "Org of " + submitter;
  r.day = day;
  r.contact_info = "tlsrpt-noreply@" + submitter;
  r.policy_domain = domain;
  char token[17];
  std::snprintf(token, sizeof token, "%016zx", index);
  auto id = makeReportId(day, domain, submitter, token);
  if (!id) return Unexpected{std::move(id).error()};
  r.report_id = *id;
  PolicyEntry sts;
  sts.policy.type = PolicyType::Sts;
  sts.policy.domain = domain;
  sts.policy.strings = {"version: STSv1", "mode: enforce", "mx: mx1." + domain, "mx: *.backup." + domain,
                        "max_age: 604800"};
  sts.policy.mx_hosts = {"mx1." + domain, "*.backup." + domain};
  sts.successful_sessions = 100 + index % 37;
  FailureCount expired;
  expired.detail.result = TlsRptResultType::CertificateExpired;
  expired.detail.sending_mta_ip = "192.0.2." + std::to_string(1 + index % 200);
  expired.detail.receiving_mx_hostname = "mx1." + domain;
  expired.detail.receiving_ip = "198.51.100." + std::to_string(1 + index % 50);
  expired.detail.failure_reason_code = "certificate_has_expired";
  expired.sessions = 1 + index % 5;
  sts.failures.push_back(expired);
  if (index % 3 == 0) {
    FailureCount nostarttls;
    nostarttls.detail.result = TlsRptResultType::StarttlsNotSupported;
    nostarttls.detail.receiving_mx_hostname = "mx2.backup." + domain;
    nostarttls.detail.receiving_ip = "203.0.113." + std::to_string(1 + index % 50);
    nostarttls.sessions = 2;
    sts.failures.push_back(nostarttls);
  }
  for (const auto& f : sts.failures) sts.failed_sessions += f.sessions;
  r.policies.push_back(sts);

  auto json = writeReportJson(r);
  if (!json) return Unexpected{std::move(json).error()};
  out.json = *json;
  auto gz = gzipCompress(out.json);
  if (!gz) return Unexpected{std::move(gz).error()};
  out.gzip = *gz;
  auto name = reportFileName(submitter, domain, day, r.report_id);
  if (!name) return Unexpected{std::move(name).error()};
  out.file_name = *name;
  ReportMailParams p;
  p.from = r.contact_info;
  p.to = "tlsrpt@" + domain;
  p.policy_domain = domain;
  p.submitter = submitter;
  p.report_id = r.report_id;
  p.message_id = makeMessageId(r.report_id, 0);
  p.organization_name = r.organization_name;
  p.day = day;
  p.date = dayEnd(day) + 1800;
  p.boundary = makeMimeBoundary(token);
  p.file_name = out.file_name;
  p.gzip_report = out.gzip;
  auto mail = buildReportMail(p);
  if (!mail) return Unexpected{std::move(mail).error()};
  out.mail = *mail;
  return out;
}

// The mail as an mbox entry: From_ line, LF line ends, mboxrd quoting, empty line after.
inline std::string mboxEntry(const std::string& mail, const std::string& sender = "tlsrpt-noreply@sender.example") {
  std::string out = "From " + sender + " Mon Nov 30 00:30:00 2026\n";
  std::size_t pos = 0;
  while (pos < mail.size()) {
    std::size_t nl = mail.find('\n', pos);
    if (nl == std::string::npos) nl = mail.size();
    std::string line = mail.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t quotes = line.find_first_not_of('>');
    if (quotes != std::string::npos && line.compare(quotes, 5, "From ") == 0) line.insert(0, ">");
    out += line + "\n";
    pos = nl + 1;
  }
  return out + "\n";
}

}  // namespace mtasts::tlsrpt::test
