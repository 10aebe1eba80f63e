#include "tlsrpt/report_mail.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <cctype>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_naming.hpp"
#include "tlsrpt/report_validator.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test::checkGolden;
using mtasts::tlsrpt::test::fixturePath;
using mtasts::tlsrpt::test::readFile;
using mtasts::tlsrpt::test::sampleReport;

namespace {

ReportMailParams sampleParams() {
  const Report report = sampleReport();
  ReportMailParams p;
  p.from = "tlsrpt-noreply@sender.example";
  p.to = "tlsrpt@example.com";
  p.policy_domain = report.policy_domain;
  p.submitter = "sender.example";
  p.report_id = report.report_id;
  p.message_id = makeMessageId(report.report_id, 0);
  p.organization_name = report.organization_name;
  p.day = report.day;
  p.date = 1795998600;  // 2026-11-30 00:30:00 UTC
  p.boundary = makeMimeBoundary("0123456789abcdef");
  p.file_name = reportFileName(p.submitter, p.policy_domain, p.day, p.report_id).value();
  p.gzip_report = gzipCompress(writeReportJson(report).value()).value();
  return p;
}

std::vector<std::string> lines(const std::string& message) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t end = message.find("\r\n", pos);
    REQUIRE_MESSAGE(end != std::string::npos, "last line without CRLF");
    out.push_back(message.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

// The unfolded header fields before the first empty line, names lower-cased.
std::vector<std::pair<std::string, std::string>> headerFields(const std::vector<std::string>& ls) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : ls) {
    if (l.empty()) break;
    if (l[0] == ' ' || l[0] == '\t') {
      out.back().second += l;
      continue;
    }
    const std::size_t colon = l.find(':');
    std::string name = l.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(name, l.substr(colon + 2));
  }
  return out;
}

std::string base64Decode(const std::string& text) {
  std::string compact;
  for (char c : text) {
    if (c != '\r' && c != '\n') compact += c;
  }
  std::string out(compact.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  REQUIRE(n >= 0);
  std::size_t pad = 0;
  for (std::size_t i = compact.size(); i > 0 && compact[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace

TEST_CASE("the report mail matches the golden file") {
  const auto mail = buildReportMail(sampleParams());
  REQUIRE_MESSAGE(mail.has_value(), mail.error().detail);
  checkGolden("report-mail.eml", *mail);
}

TEST_CASE("the report mail has CRLF lines within 998 bytes and the headers RFC 8460 asks for") {
  const ReportMailParams p = sampleParams();
  const std::string mail = buildReportMail(p).value();
  CHECK(mail.find('\0') == std::string::npos);
  for (std::size_t i = 0; i < mail.size(); ++i) {
    if (mail[i] == '\n') CHECK((i > 0 && mail[i - 1] == '\r'));
    if (mail[i] == '\r') CHECK((i + 1 < mail.size() && mail[i + 1] == '\n'));
    CHECK(static_cast<unsigned char>(mail[i]) < 0x80);
  }
  const auto ls = lines(mail);
  for (const auto& l : ls) CHECK(l.size() <= 998);
  const auto fields = headerFields(ls);
  std::set<std::string> names;
  for (const auto& [name, value] : fields) CHECK(names.insert(name).second);
  const auto value = [&](const std::string& name) {
    for (const auto& [n, v] : fields) {
      if (n == name) return v;
    }
    return std::string("<missing " + name + ">");
  };
  CHECK(value("subject") ==
        "Report Domain: example.com Submitter: sender.example Report-ID: "
        "<2026-11-29.0123456789abcdef.example.com@sender.example>");
  CHECK(value("tls-report-domain") == "example.com");
  CHECK(value("tls-report-submitter") == "sender.example");
  CHECK(value("tls-required") == "No");
  CHECK(value("date") == "Mon, 30 Nov 2026 00:30:00 +0000");
  CHECK(value("message-id") == "<2026-11-29.0123456789abcdef.example.com.0@sender.example>");
  CHECK(value("mime-version") == "1.0");
  CHECK(value("content-type") ==
        "multipart/report; report-type=\"tlsrpt\"; boundary=\"=_tlsrpt_0123456789abcdef\"");
  // Every header sys4's reporter writes, we write too.
  for (const auto& field : headerFields(lines(readFile(fixturePath("reportd-libtlsrpt-example.com.eml"))))) {
    CAPTURE(field.first);
    CHECK(names.count(field.first) == 1);
  }

  // The attachment decodes to the gzip bytes, and those to a valid report.
  const std::string start = "Content-Disposition: attachment;\r\n filename=\"" + p.file_name + "\"\r\n\r\n";
  const std::size_t at = mail.find(start);
  REQUIRE(at != std::string::npos);
  const std::size_t end = mail.find("\r\n--" + p.boundary + "--\r\n", at);
  REQUIRE(end != std::string::npos);
  CHECK(mail.substr(end + 4 + p.boundary.size() + 4) == "");  // nothing after the close
  const std::string b64 = mail.substr(at + start.size(), end - at - start.size());
  for (const auto& l : lines(b64)) CHECK(l.size() <= 76);
  CHECK(base64Decode(b64) == p.gzip_report);
  const std::string json = gzipDecompress(p.gzip_report, 1 << 20).value();
  CHECK(validateReportJson(json, ValidationOptions{true}).empty());
}

TEST_CASE("base64Lines writes 76-character lines") {
  CHECK(base64Lines("") == "");
  CHECK(base64Lines("f") == "Zg==\r\n");
  std::string aaa;
  for (int i = 0; i < 19; ++i) aaa += "YWFh";
  CHECK(base64Lines(std::string(57, 'a')) == aaa + "\r\n");
  const std::string two = base64Lines(std::string(58, '\xff'));
  CHECK(two == std::string(76, '/') + "\r\n/w==\r\n");
}

TEST_CASE("a non-ASCII organization name goes into a base64 UTF-8 text part, made safe") {
  ReportMailParams p = sampleParams();
  p.organization_name = "M\xc3\xbcller \xe4 GmbH\r\nBcc: victim@example.org";
  const std::string mail = buildReportMail(p).value();
  CHECK(mail.find("Bcc:") == std::string::npos);
  CHECK(mail.find("charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64") != std::string::npos);
  const std::size_t at = mail.find("base64\r\n\r\n");
  const std::string text = base64Decode(mail.substr(at + 10, mail.find("\r\n\r\n--", at) - at - 10));
  CHECK(text.find("Reporting organization: M\xc3\xbcller \xef\xbf\xbd GmbH  Bcc: victim@example.org\r\n") !=
        std::string::npos);
}

TEST_CASE("buildReportMail refuses values that would break or add headers") {
  struct Case {
    const char* name;
    std::function<void(ReportMailParams&)> damage;
    std::string want;
  };
  const Case cases[] = {
      {"To with CRLF", [](auto& p) { p.to = "a@b.example\r\nBcc: c@d.example"; }, "To"},
      {"To without @", [](auto& p) { p.to = "postmaster"; }, "To \"postmaster\" is not a usable address"},
      {"From with a display name", [](auto& p) { p.from = "X <x@sender.example>"; }, "From"},
      {"From outside the submitter", [](auto& p) { p.from = "x@other.example"; },
       "is not in the submitter domain"},
      {"policy domain with a space", [](auto& p) { p.policy_domain = "example.com Bcc:"; },
       "policy domain"},
      {"submitter empty", [](auto& p) { p.submitter.clear(); }, "submitter"},
      {"report-id with '>'", [](auto& p) { p.report_id = "a>b@c"; }, "report-id"},
      {"report-id without @", [](auto& p) { p.report_id = "abc"; }, "report-id"},
      {"message-id with space", [](auto& p) { p.message_id = "a b@c"; }, "Message-ID"},
      {"boundary with quote", [](auto& p) { p.boundary = "a\"b"; }, "boundary"},
      {"boundary too long", [](auto& p) { p.boundary = std::string(71, 'a'); }, "boundary"},
      {"boundary in the content",
       [](auto& p) {
         p.policy_domain = "xn--mller-kva.example";  // the text part names it
         p.boundary = "mller-kva";
       },
       "occurs in the content"},
      {"file name with quote", [](auto& p) { p.file_name = "a\".json.gz"; }, "file name"},
      {"file name with CR", [](auto& p) { p.file_name = "a\r.json.gz"; }, "file name"},
      {"no attachment", [](auto& p) { p.gzip_report.clear(); }, "no attachment"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ReportMailParams p = sampleParams();
    c.damage(p);
    const auto got = buildReportMail(p);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(c.want) != std::string::npos);
  }
}

TEST_CASE("long headers are folded at spaces") {
  ReportMailParams p = sampleParams();
  p.policy_domain = std::string(60, 'a') + "." + std::string(60, 'b') + ".example";
  p.report_id = makeReportId(p.day, p.policy_domain, p.submitter, "ff").value();
  const std::string mail = buildReportMail(p).value();
  const auto ls = lines(mail);
  std::size_t longest = 0;
  for (const auto& l : ls) {
    if (l.empty()) break;
    longest = std::max(longest, l.size());
  }
  CHECK(longest <= 998);
  CHECK(mail.find("Subject: Report Domain:\r\n " + p.policy_domain + "\r\n Submitter: sender.example") !=
        std::string::npos);
}
