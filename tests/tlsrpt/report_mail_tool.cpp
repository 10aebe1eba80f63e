// Test tool for the DKIM verification test (test_dkim_verify.py): builds the sample report's
// mail exactly as the reporter will (JSON, gzip, file name, MIME) and signs it with the given
// key, or prints the key's DNS record. Not installed.
//   report_mail_tool sign KEY.pem DOMAIN SELECTOR UNIX_TIME OUT.eml
//   report_mail_tool record KEY.pem
// Exit status 0 on success, 1 with the reason on stderr otherwise.
#include <cstdio>
#include <string>

#include "tests/tlsrpt/sample_report.hpp"
#include "tlsrpt/dkim_signer.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_mail.hpp"
#include "tlsrpt/report_naming.hpp"

namespace {

using namespace mtasts;
using namespace mtasts::tlsrpt;

int failWith(const std::string& why) {
  std::fprintf(stderr, "report_mail_tool: %s\n", why.c_str());
  return 1;
}

Result<std::string> buildSignedMail(const DkimKey& key, const std::string& domain,
                                    const std::string& selector, UnixSeconds time) {
  Report report = test::sampleReport();
  report.contact_info = "tlsrpt-noreply@" + domain;
  auto id = makeReportId(report.day, report.policy_domain, domain, "0123456789abcdef");
  if (!id) return id;
  report.report_id = *id;
  auto json = writeReportJson(report);
  if (!json) return json;
  auto gz = gzipCompress(*json);
  if (!gz) return gz;
  auto file_name = reportFileName(domain, report.policy_domain, report.day, report.report_id);
  if (!file_name) return file_name;
  ReportMailParams p;
  p.from = report.contact_info;
  p.to = "tlsrpt@" + report.policy_domain;
  p.policy_domain = report.policy_domain;
  p.submitter = domain;
  p.report_id = report.report_id;
  p.message_id = makeMessageId(report.report_id, 0);
  p.organization_name = report.organization_name;
  p.day = report.day;
  p.date = time;
  p.boundary = makeMimeBoundary("0123456789abcdef");
  p.file_name = *file_name;
  p.gzip_report = *gz;
  auto mail = buildReportMail(p);
  if (!mail) return mail;
  DkimSignOptions options;
  options.domain = domain;
  options.selector = selector;
  options.time = time;
  return dkimSign(*mail, key, options);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (!((command == "sign" && argc == 7) || (command == "record" && argc == 3))) {
    return failWith("usage: report_mail_tool sign KEY DOMAIN SELECTOR TIME OUT | record KEY");
  }
  const auto key = DkimKey::fromPemFile(argv[2]);
  if (!key) return failWith(key.error().detail);
  if (command == "record") {
    std::printf("%s\n", key->dnsRecord().c_str());
    return 0;
  }
  const auto mail = buildSignedMail(*key, argv[3], argv[4], std::stoll(argv[5]));
  if (!mail) return failWith(mail.error().detail);
  std::FILE* out = std::fopen(argv[6], "wb");
  if (out == nullptr) return failWith(std::string("cannot write ") + argv[6]);
  const bool ok = std::fwrite(mail->data(), 1, mail->size(), out) == mail->size();
  return std::fclose(out) == 0 && ok ? 0 : failWith("write failed");
}
