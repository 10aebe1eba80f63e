#include "tlsrpt/report_json.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/report_validator.hpp"
#include "tlsrpt/text_escape.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test::checkGolden;
using mtasts::tlsrpt::test::sampleReport;

namespace {

std::string writeOrFail(const Report& report) {
  const auto json = writeReportJson(report);
  REQUIRE_MESSAGE(json.has_value(), json.error().detail);
  return *json;
}

void requireValid(const std::string& json, bool strict = true) {
  const auto problems = validateReportJson(json, ValidationOptions{strict});
  for (const auto& p : problems) MESSAGE(p);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("the JSON writer matches the golden report with one policy of each type") {
  const std::string json = writeOrFail(sampleReport());
  checkGolden("report-three-policies.json", json);
  requireValid(json);
}

TEST_CASE("the JSON writer leaves unknown members out rather than writing empty values") {
  const std::string json = writeOrFail(sampleReport());
  const auto doc = nlohmann::json::parse(json);
  const auto& none = doc["policies"][2];
  CHECK(none["policy"].contains("policy-string") == false);
  CHECK(none["policy"].contains("mx-host") == false);
  CHECK(none["policy"]["policy-domain"] == "example.com");  // the report's domain
  const auto& row = none["failure-details"][0];
  CHECK(row.size() == 3);  // result-type, receiving-ip, failed-session-count
  CHECK(doc["policies"][1].contains("failure-details") == false);
  CHECK(json.find("\"\"") == std::string::npos);
  CHECK(doc["policies"][0]["summary"]["total-failure-session-count"].is_number_unsigned());
}

TEST_CASE("the JSON writer writes an empty policies array for a report without sessions") {
  Report r = sampleReport();
  r.policies.clear();
  const std::string json = writeOrFail(r);
  checkGolden("report-no-policies.json", json);
  requireValid(json, false);
  CHECK(validateReportJson(json, ValidationOptions{true}) ==
        std::vector<std::string>{"report.policies: no policy"});
}

TEST_CASE("the JSON writer escapes hostile bytes and replaces invalid UTF-8 with U+FFFD") {
  Report r = sampleReport();
  r.policies.resize(1);
  auto& entry = r.policies[0];
  entry.policy.strings = {"quote \" backslash \\ slash /", "ctl \b\f\n\r\t \x01\x1f\x7f end",
                          "utf8 \xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80", std::string("nul \0 x", 7)};
  auto& d = entry.failures[0].detail;
  d.receiving_mx_helo = "lone \xe4 byte";               // what libtlsrpt passed on raw
  d.additional_information = "overlong \xc0\xaf surrogate \xed\xa0\x80";
  d.failure_reason_code = "past max \xf4\x90\x80\x80 cut \xe2\x82";
  entry.failures.resize(1);
  const std::string json = writeOrFail(r);
  checkGolden("report-escapes.json", json);
  requireValid(json);
  for (char c : json) CHECK(static_cast<unsigned char>(c) < 0x80);
  const auto doc = nlohmann::json::parse(json);
  const auto& strings = doc["policies"][0]["policy"]["policy-string"];
  CHECK(strings[2] == "utf8 \xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(strings[3] == std::string("nul \0 x", 7));
  CHECK(doc["policies"][0]["failure-details"][0]["receiving-mx-helo"] == "lone \xef\xbf\xbd byte");
}

TEST_CASE("the JSON writer refuses a report without the members the RFC requires") {
  struct Case {
    const char* name;
    void (*damage)(Report&);
  };
  const Case cases[] = {
      {"organization-name", [](Report& r) { r.organization_name.clear(); }},
      {"contact-info", [](Report& r) { r.contact_info.clear(); }},
      {"report-id", [](Report& r) { r.report_id.clear(); }},
      {"policy domain", [](Report& r) { r.policy_domain.clear(); }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Report r = sampleReport();
    c.damage(r);
    const auto got = writeReportJson(r);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().detail.find(c.name) != std::string::npos);
  }
}

TEST_CASE("the JSON writer caps counts at 2^53-1 so every parser reads them exactly") {
  Report r = sampleReport();
  r.policies.resize(1);
  r.policies[0].successful_sessions = UINT64_MAX;
  const std::string json = writeOrFail(r);
  CHECK(json.find("\"total-successful-session-count\": 9007199254740991") != std::string::npos);
  requireValid(json);
}

TEST_CASE("normalizeReport merges equal policies and rows and sorts them") {
  Report r = sampleReport();
  Report twice = r;
  for (const auto& e : sampleReport().policies) twice.policies.push_back(e);
  std::reverse(twice.policies.begin(), twice.policies.end());
  FailureCount zero;
  zero.detail.result = TlsRptResultType::DaneRequired;
  twice.policies[0].failures.push_back(zero);
  normalizeReport(twice);
  normalizeReport(r);
  REQUIRE(twice.policies.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(twice.policies[i].policy == r.policies[i].policy);
    CHECK(twice.policies[i].successful_sessions == 2 * r.policies[i].successful_sessions);
    CHECK(twice.policies[i].failed_sessions == 2 * r.policies[i].failed_sessions);
    REQUIRE(twice.policies[i].failures.size() == r.policies[i].failures.size());
    for (std::size_t j = 0; j < r.policies[i].failures.size(); ++j) {
      CHECK(twice.policies[i].failures[j].detail == r.policies[i].failures[j].detail);
      CHECK(twice.policies[i].failures[j].sessions == 2 * r.policies[i].failures[j].sessions);
    }
  }
  CHECK(std::is_sorted(r.policies.begin(), r.policies.end(),
                       [](const auto& a, const auto& b) { return a.policy < b.policy; }));
  Report saturated = r;
  saturated.policies.push_back(saturated.policies[0]);
  saturated.policies[0].successful_sessions = UINT64_MAX;
  normalizeReport(saturated);
  CHECK(saturated.policies[0].successful_sessions == UINT64_MAX);
}

TEST_CASE("decodeUtf8 accepts exactly the RFC 3629 sequences") {
  struct Case {
    std::string bytes;
    std::size_t want_length;
    char32_t want_cp;
  };
  const Case cases[] = {
      {"a", 1, U'a'},
      {"\x7f", 1, 0x7f},
      {"\xc2\x80", 2, 0x80},
      {"\xdf\xbf", 2, 0x7ff},
      {"\xe0\xa0\x80", 3, 0x800},
      {"\xed\x9f\xbf", 3, 0xd7ff},
      {"\xee\x80\x80", 3, 0xe000},
      {"\xef\xbf\xbf", 3, 0xffff},
      {"\xf0\x90\x80\x80", 4, 0x10000},
      {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
      {"\x80", 0, 0},               // lone continuation
      {"\xc0\x80", 0, 0},           // overlong NUL
      {"\xc1\xbf", 0, 0},           // overlong
      {"\xe0\x9f\xbf", 0, 0},       // overlong 3-byte
      {"\xf0\x8f\xbf\xbf", 0, 0},   // overlong 4-byte
      {"\xed\xa0\x80", 0, 0},       // surrogate
      {"\xed\xbf\xbf", 0, 0},       // surrogate
      {"\xf4\x90\x80\x80", 0, 0},   // past U+10FFFF
      {"\xf5\x80\x80\x80", 0, 0},
      {"\xff", 0, 0},
      {"\xe2\x82", 0, 0},           // truncated
      {"\xe2\x28\xa1", 0, 0},       // bad continuation
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    char32_t cp = 0;
    CHECK(decodeUtf8(c.bytes, 0, cp) == c.want_length);
    if (c.want_length != 0) CHECK(cp == c.want_cp);
  }
  CHECK(toValidUtf8("a\xe4z\xe2\x82\xac") == "a\xef\xbf\xbdz\xe2\x82\xac");
}

TEST_CASE("whatever bytes the free-text members hold, the JSON parses and validates strictly") {
  std::mt19937 rng(8460);  // fixed seed: the same 2000 reports on every run
  const auto randomBytes = [&](std::size_t max) {
    std::string out(std::uniform_int_distribution<std::size_t>(1, max)(rng), '\0');
    for (char& c : out) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    return out;
  };
  for (int i = 0; i < 2000; ++i) {
    Report r = sampleReport();
    r.organization_name = randomBytes(40);
    r.report_id = randomBytes(40);
    r.policies[0].policy.strings = {randomBytes(60), randomBytes(8)};
    auto& d = r.policies[0].failures[1].detail;
    d.receiving_mx_helo = randomBytes(60);
    d.additional_information = randomBytes(60);
    d.failure_reason_code = randomBytes(60);
    const std::string json = writeOrFail(r);
    const auto problems = validateReportJson(json, ValidationOptions{true});
    if (!problems.empty()) {
      CAPTURE(json);
      FAIL(problems.front());
    }
    const auto doc = nlohmann::json::parse(json);
    CHECK(doc["organization-name"].get<std::string>() == toValidUtf8(r.organization_name));
    CHECK(doc["policies"][0]["failure-details"][1]["failure-reason-code"].get<std::string>() ==
          toValidUtf8(d.failure_reason_code));
  }
}
