// Reading received reports: the third-party reports in tests/fixtures/tlsrpt (sys4's
// reporter), the RFC 8460 Appendix B example, our own writer's output, reporters' known
// deviations, and damaged copies of each, every one with the reason it is refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_reader.hpp"
#include "tlsrpt/report_validator.hpp"

namespace mtasts::tlsrpt {
namespace {

std::vector<std::string> sys4Reports() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(MTASTS_FIXTURE_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("reportd-") && name.ends_with(".json")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("every sys4 report in the fixtures is read; its strict-mode deviations are the known ones") {
  // What sys4 tlsrpt-reporter 0.6.0rc2 does that our writer does not: "failure-details": []
  // for sessions without failures, and no policy-domain when libtlsrpt had none (no-policy-found
  // and the minimal STS policy). The lenient reader accepts both.
  const std::vector<std::string> reports = sys4Reports();
  REQUIRE(reports.size() == 31);
  std::size_t empty_rows = 0;
  std::size_t no_domain = 0;
  for (const std::string& name : reports) {
    CAPTURE(name);
    const std::string json = test::readFile(test::fixturePath(name));
    const auto report = readReportJson(json);
    REQUIRE_MESSAGE(report.has_value(), report.error().detail);
    CHECK(report->organization_name == "mtastsd reference run");
    CHECK(report->start == 1795910400);  // 2026-11-29T00:00:00Z
    CHECK(report->end == 1795996799);
    CHECK(report->tolerated.empty());
    CHECK_FALSE(report->policies.empty());
    for (const std::string& problem : validateReportJson(json, ValidationOptions{true})) {
      if (problem.ends_with("failure-details: empty array")) {
        ++empty_rows;
      } else if (problem.ends_with("required member \"policy-domain\" missing")) {
        ++no_domain;
      } else {
        FAIL_CHECK("unexpected strict problem: ", problem);
      }
    }
  }
  CHECK(empty_rows == 11);
  CHECK(no_domain == 2);
}

TEST_CASE("a sys4 report's values arrive as written") {
  const auto r = readReportJson(test::readFile(test::fixturePath("reportd-libtlsrpt-multi.example.json")));
  REQUIRE(r.has_value());
  CHECK(r->report_id == "2026-11-29T00:00:00Z_idx1_multi.example");
  CHECK(r->contact_info == "tlsrpt-noreply@sender.e2e.test");
  REQUIRE(r->policies.size() == 1);
  const PolicyEntry& p = r->policies[0];
  CHECK(p.policy.type == PolicyType::Sts);
  CHECK(p.policy.domain == "multi.example");
  CHECK(p.policy.mx_hosts == std::vector<std::string>{"mx1.multi.example", "*.backup.multi.example"});
  CHECK(p.successful_sessions == 0);
  CHECK(p.failed_sessions == 1);
  REQUIRE(p.failures.size() == 2);
  CHECK(p.failures[0].detail.result == TlsRptResultType::CertificateNotTrusted);
  CHECK(p.failures[0].detail.receiving_mx_hostname == "mx2.backup.multi.example");
  CHECK(p.failures[0].detail.receiving_ip == "198.51.100.51");
  CHECK(p.failures[0].detail.sending_mta_ip == "192.0.2.25");
  CHECK(p.failures[0].detail.failure_reason_code == "self-signed_certificate");
  CHECK(p.failures[0].sessions == 1);
}

TEST_CASE("the RFC 8460 Appendix B example is read") {
  const auto r = readReportJson(test::readFile(test::goldenPath("rfc8460-appendix-b.json")));
  REQUIRE(r.has_value());
  CHECK(r->organization_name == "Company-X");
  REQUIRE(r->policies.size() == 1);
  CHECK(r->policies[0].successful_sessions == 5326);
  CHECK(r->policies[0].failed_sessions == 303);
  REQUIRE(r->policies[0].failures.size() == 3);
  CHECK(r->policies[0].failures[1].detail.additional_information ==
        "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported");
}

TEST_CASE("a report made by our writer reads back to the values it was made from") {
  Report sample = test::sampleReport();
  const std::string json = *writeReportJson(sample);
  const auto r = readReportJson(json);
  REQUIRE(r.has_value());
  CHECK(r->organization_name == sample.organization_name);
  CHECK(r->report_id == sample.report_id);
  CHECK(r->start == dayStart(sample.day));
  CHECK(r->end == dayEnd(sample.day));
  REQUIRE(r->policies.size() == sample.policies.size());
  for (std::size_t i = 0; i < sample.policies.size(); ++i) {
    CAPTURE(i);
    PolicyEntry want = sample.policies[i];
    if (want.policy.domain.empty()) want.policy.domain = sample.policy_domain;  // the writer fills it in
    CHECK(r->policies[i] == want);
  }
}

TEST_CASE("real reporters' deviations are accepted") {
  SUBCASE("Microsoft: no mx-host, no IPs, a report-id with '+'") {
    const auto r = readReportJson(
        R"({"organization-name":"Microsoft Corporation","date-range":{"start-datetime":"2025-06-14T00:00:00Z",)"
        R"("end-datetime":"2025-06-14T23:59:59Z"},"contact-info":"tlsrpt-noreply@microsoft.com",)"
        R"("report-id":"133944884956529435+contoso.example","policies":[{"policy":{"policy-type":"sts",)"
        R"("policy-domain":"Contoso.Example."},"summary":{"total-successful-session-count":0,)"
        R"("total-failure-session-count":3},"failure-details":[{"result-type":"sts-policy-fetch-error",)"
        R"("failed-session-count":3}]}]})");
    REQUIRE(r.has_value());
    CHECK(r->policies[0].policy.domain == "contoso.example");  // case and root dot folded
    CHECK(r->policies[0].failures[0].sessions == 3);
  }
  SUBCASE("contact-info null and a range ending at 00:00 of the next day") {
    const auto r = readReportJson(
        R"({"organization-name":"mx.example.net","date-range":{"start-datetime":"2026-01-11T00:00:00Z",)"
        R"("end-datetime":"2026-01-12T00:00:00Z"},"contact-info":null,"report-id":"1768089600_5665",)"
        R"("policies":[{"policy":{"policy-type":"sts","policy-string":[],"policy-domain":"hin.example",)"
        R"("mx-host":[]},"summary":{"total-successful-session-count":1,"total-failure-session-count":0},)"
        R"("failure-details":[]}]})");
    REQUIRE_MESSAGE(r.has_value(), r.error().detail);
    CHECK(r->contact_info.empty());
    CHECK(r->tolerated == std::vector<std::string>{"report.contact-info: must be a string, is null"});
    CHECK(r->end - r->start == 86400);
  }
  SUBCASE("a UTF-8 byte order mark and leading whitespace") {
    const std::string json = "\xEF\xBB\xBF\n " + test::readFile(test::goldenPath("rfc8460-appendix-b.json"));
    CHECK(readReportJson(json).has_value());
    CHECK(reportJsonFromBytes(json).has_value());
  }
}

TEST_CASE("damaged and foreign reports are refused with one clear reason") {
  const std::string nopol = test::readFile(test::fixturePath("reportd-libtlsrpt-nopol.example.json"));
  const auto replaced = [&](std::string_view from, std::string_view to) {
    std::string s = nopol;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  struct Case {
    std::string name;
    std::string json;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"broken JSON", nopol.substr(0, nopol.size() - 40),
       "invalid TLSRPT report: not valid JSON: parse error at line 1, column 559: syntax error while parsing "
       "value - invalid string: missing closing quote; last read: '\"2'"},
      {"a missing member", replaced("\"contact-info\": \"tlsrpt-noreply@sender.e2e.test\", ", ""),
       "invalid TLSRPT report: report: required member \"contact-info\" missing"},
      {"a missing summary", replaced("\"summary\": {\"total-failure-session-count\": 1, \"total-successful-session-count\": 0}, ", ""),
       "invalid TLSRPT report: report.policies[0]: required member \"summary\" missing"},
      {"a count as a string", replaced("\"failed-session-count\": 1", "\"failed-session-count\": \"1\""),
       "invalid TLSRPT report: report.policies[0].failure-details[0].failed-session-count: must be an integer, is string"},
      {"policies not an array",
       R"({"organization-name":"x","date-range":{"start-datetime":"2026-11-29T00:00:00Z","end-datetime":)"
       R"("2026-11-29T23:59:59Z"},"contact-info":"a@b.example","report-id":"1","policies":{}})",
       "invalid TLSRPT report: report.policies: must be an array, is object"},
      {"an unknown result type", replaced("starttls-not-supported", "tls-was-sad"),
       "invalid TLSRPT report: report.policies[0].failure-details[0].result-type: \"tls-was-sad\" is not an RFC 8460 result type"},
      {"a negative count", replaced("\"failed-session-count\": 1", "\"failed-session-count\": -1"),
       "invalid TLSRPT report: report.policies[0].failure-details[0].failed-session-count: negative count"},
      {"a bad date", replaced("2026-11-29T00:00:00Z\", \"end", "2026-11-31T00:00:00Z\", \"end"),
       "invalid TLSRPT report: report.date-range.start-datetime: \"2026-11-31T00:00:00Z\" is not an RFC 3339 date-time"},
      {"a DMARC-like JSON", R"({"feedback": {"org_name": "x"}})",
       "JSON, but not a TLSRPT report (no \"organization-name\" or \"date-range\" in the object)"},
      {"a libtlsrpt datagram", test::readFile(test::fixturePath("pf311-good-success.dgram")),
       "JSON, but not a TLSRPT report (no \"organization-name\" or \"date-range\" in the object)"},
      {"an array", "[1, 2]", "JSON, but not a TLSRPT report (no \"organization-name\" or \"date-range\" in a array)"},
      {"deep nesting", "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}",
       "JSON nested deeper than 32 levels: not a TLSRPT report"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = readReportJson(c.json);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::InvalidInput);
    if (!c.reason.empty()) CHECK(r.error().detail == c.reason);
    CHECK(r.error().detail.find('\n') == std::string::npos);  // one line
  }
}

TEST_CASE("report bytes: gzip or JSON by content, bounded, with damage named") {
  const std::string json = test::readFile(test::fixturePath("reportd-libtlsrpt-example.org.json"));
  const std::string gz = test::readFile(test::fixturePath("reportd-libtlsrpt-example.org-https-post.json.gz"));
  CHECK(*reportJsonFromBytes(gz) == json);
  CHECK(*reportJsonFromBytes(json) == json);
  SUBCASE("a line break after the gzip stream is allowed, other bytes are not") {
    CHECK(*reportJsonFromBytes(gz + "\r\n") == json);
    CHECK(*reportJsonFromBytes(gz + std::string(3, '\0')) == json);
    const auto junk = reportJsonFromBytes(gz + "junk");
    REQUIRE_FALSE(junk.has_value());
    CHECK(junk.error().detail == "gzip: 4 bytes after the gzip stream");
  }
  SUBCASE("a truncated gzip stream") {
    const auto cut = reportJsonFromBytes(gz.substr(0, gz.size() / 2));
    REQUIRE_FALSE(cut.has_value());
    CHECK(cut.error().detail == "gzip: not a complete gzip stream (truncated)");
  }
  SUBCASE("a gzip bomb stops at the bound") {
    const std::string bomb = *gzipCompress("{" + std::string(2 * 1024 * 1024, ' ') + "}");
    const auto r = reportJsonFromBytes(bomb, 1024 * 1024);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::TooLarge);
    CHECK(r.error().detail == "gzip expands past 1048576 bytes");
  }
  SUBCASE("gzip of something else, and neither gzip nor JSON") {
    const auto xml = reportJsonFromBytes(*gzipCompress("<feedback/>"));
    REQUIRE_FALSE(xml.has_value());
    CHECK(xml.error().detail == "gzip holds no JSON object (starts with \"<feedback/>\")");
    const auto zip = reportJsonFromBytes("PK\x03\x04rest");
    REQUIRE_FALSE(zip.has_value());
    CHECK(zip.error().detail == "neither gzip nor a JSON object (starts with \"PK\\x03\\x04rest\")");
  }
  SUBCASE("plain JSON over the bound") {
    const auto big = reportJsonFromBytes("{" + std::string(100, ' ') + "}", 50);
    REQUIRE_FALSE(big.has_value());
    CHECK(big.error().code == ErrorCode::TooLarge);
  }
}

TEST_CASE("RFC 3339 date-times with offsets and fractions") {
  CHECK(*parseRfc3339DateTime("2026-11-29T00:00:00Z") == 1795910400);
  CHECK(*parseRfc3339DateTime("2026-11-29T01:00:00+01:00") == 1795910400);
  CHECK(*parseRfc3339DateTime("2026-11-28T23:00:00.123-01:00") == 1795910400);
  CHECK(*parseRfc3339DateTime("2016-12-31T23:59:60Z") == 1483228799);
  for (const char* bad : {"2026-11-29", "2026-02-30T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T00:00:00",
                          "2026-11-29T00:00:00Zjunk", "+026-11-29T00:00:00Z", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parseRfc3339DateTime(bad).has_value());
  }
}

}  // namespace
}  // namespace mtasts::tlsrpt
