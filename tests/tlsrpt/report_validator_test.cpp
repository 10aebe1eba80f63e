#include "tlsrpt/report_validator.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"

using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test::fixturePath;
using mtasts::tlsrpt::test::goldenPath;
using mtasts::tlsrpt::test::readFile;
using Json = nlohmann::json;

namespace {

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

std::vector<std::string> reportdFixtures() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(MTASTS_FIXTURE_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("reportd-", 0) == 0 && entry.path().extension() == ".json") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("the validator accepts every report sys4's reportd wrote") {
  const auto names = reportdFixtures();
  CHECK(names.size() >= 25);
  for (const auto& name : names) {
    CAPTURE(name);
    const auto problems = validateReportJson(readFile(fixturePath(name)));
    CAPTURE(joined(problems));
    CHECK(problems.empty());
  }
}

TEST_CASE("the validator accepts the RFC 8460 Appendix B example, also in strict mode") {
  const std::string json = readFile(goldenPath("rfc8460-appendix-b.json"));
  CHECK(joined(validateReportJson(json)) == "");
  CHECK(joined(validateReportJson(json, ValidationOptions{true})) == "");
}

TEST_CASE("the validator rejects damaged copies of the RFC example with the reason") {
  struct Case {
    const char* name;
    std::function<void(Json&)> damage;
    std::string want;
  };
  const Case cases[] = {
      {"no organization-name", [](Json& j) { j.erase("organization-name"); },
       "report: required member \"organization-name\" missing"},
      {"organization-name a number", [](Json& j) { j["organization-name"] = 7; },
       "report.organization-name: must be a string, is number"},
      {"no date-range", [](Json& j) { j.erase("date-range"); }, "\"date-range\" missing"},
      {"date with a space", [](Json& j) { j["date-range"]["start-datetime"] = "2016-04-01 00:00:00Z"; },
       "start-datetime: \"2016-04-01 00:00:00Z\" is not an RFC 3339 date-time"},
      {"no such day", [](Json& j) { j["date-range"]["end-datetime"] = "2016-02-30T23:59:59Z"; },
       "end-datetime: \"2016-02-30T23:59:59Z\" is not an RFC 3339"},
      {"no offset", [](Json& j) { j["date-range"]["end-datetime"] = "2016-04-01T23:59:59"; },
       "is not an RFC 3339"},
      {"hour 24", [](Json& j) { j["date-range"]["end-datetime"] = "2016-04-01T24:00:00Z"; },
       "is not an RFC 3339"},
      {"end before start", [](Json& j) { j["date-range"]["end-datetime"] = "2016-03-31T23:59:59Z"; },
       "report.date-range: start-datetime after end-datetime"},
      {"contact not an address", [](Json& j) { j["contact-info"] = "Company X"; },
       "report.contact-info: not an addr-spec"},
      {"no report-id", [](Json& j) { j.erase("report-id"); }, "\"report-id\" missing"},
      {"policies an object", [](Json& j) { j["policies"] = j["policies"][0]; },
       "report.policies: must be an array, is object"},
      {"no policy", [](Json& j) { j["policies"][0].erase("policy"); },
       "report.policies[0]: required member \"policy\" missing"},
      {"policy-type upper case", [](Json& j) { j["policies"][0]["policy"]["policy-type"] = "STS"; },
       "policy-type: \"STS\" is not tlsa, sts or no-policy-found"},
      {"policy-string a string",
       [](Json& j) { j["policies"][0]["policy"]["policy-string"] = "version: STSv1"; },
       "policy-string: must be an array of strings, is string"},
      {"mx-host a number inside",
       [](Json& j) { j["policies"][0]["policy"]["mx-host"][0] = 1; },
       "mx-host[0]: must be a string, is number"},
      {"mx-host not a pattern",
       [](Json& j) { j["policies"][0]["policy"]["mx-host"][0] = "*mail.example"; },
       "mx-host[0]: not a hostname or *.hostname pattern"},
      {"policy-domain a U-label",
       [](Json& j) { j["policies"][0]["policy"]["policy-domain"] = "b\xc3\xbc" "cher.example"; },
       "policy-domain: not an A-label hostname"},
      {"no summary", [](Json& j) { j["policies"][0].erase("summary"); },
       "report.policies[0]: required member \"summary\" missing"},
      {"count missing",
       [](Json& j) { j["policies"][0]["summary"].erase("total-failure-session-count"); },
       "\"total-failure-session-count\" missing"},
      {"count negative",
       [](Json& j) { j["policies"][0]["summary"]["total-successful-session-count"] = -1; },
       "total-successful-session-count: negative count"},
      {"count a fraction",
       [](Json& j) { j["policies"][0]["summary"]["total-successful-session-count"] = 1.5; },
       "total-successful-session-count: must be an integer, is a fraction"},
      {"count a string",
       [](Json& j) { j["policies"][0]["summary"]["total-successful-session-count"] = "5326"; },
       "total-successful-session-count: must be an integer, is string"},
      {"count too big",
       [](Json& j) { j["policies"][0]["summary"]["total-failure-session-count"] = 9007199254740992ULL; },
       "count above 2^53-1"},
      {"failure-details an object",
       [](Json& j) { j["policies"][0]["failure-details"] = Json::object(); },
       "failure-details: must be an array, is object"},
      {"result-type unknown",
       [](Json& j) { j["policies"][0]["failure-details"][0]["result-type"] = "expired"; },
       "failure-details[0].result-type: \"expired\" is not an RFC 8460 result type"},
      {"no result-type", [](Json& j) { j["policies"][0]["failure-details"][1].erase("result-type"); },
       "failure-details[1]: required member \"result-type\" missing"},
      {"no failed-session-count",
       [](Json& j) { j["policies"][0]["failure-details"][2].erase("failed-session-count"); },
       "failure-details[2]: required member \"failed-session-count\" missing"},
      {"sending-mta-ip not an address",
       [](Json& j) { j["policies"][0]["failure-details"][0]["sending-mta-ip"] = "256.1.1.1"; },
       "sending-mta-ip: \"256.1.1.1\" is not an IP address"},
      {"receiving-ip not an address",
       [](Json& j) { j["policies"][0]["failure-details"][1]["receiving-ip"] = "mx.example"; },
       "receiving-ip: \"mx.example\" is not an IP address"},
      {"receiving-mx-hostname not a name",
       [](Json& j) { j["policies"][0]["failure-details"][1]["receiving-mx-hostname"] = "mx_1"; },
       "receiving-mx-hostname: not a hostname"},
      {"helo a number",
       [](Json& j) { j["policies"][0]["failure-details"][1]["receiving-mx-helo"] = 1; },
       "receiving-mx-helo: must be a string, is number"},
      {"top level an array", [](Json& j) { j = Json::array({j}); },
       "report: must be an object, is array"},
  };
  const Json original = Json::parse(readFile(goldenPath("rfc8460-appendix-b.json")));
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Json damaged = original;
    c.damage(damaged);
    const auto problems = validateReportJson(damaged.dump());
    CAPTURE(joined(problems));
    CHECK(joined(problems).find(c.want) != std::string::npos);
  }
}

TEST_CASE("the validator rejects text that is not I-JSON") {
  const std::string json = readFile(goldenPath("rfc8460-appendix-b.json"));
  struct Case {
    const char* name;
    std::string text;
    std::string want;
  };
  const Case cases[] = {
      {"truncated", json.substr(0, json.size() / 2), "report: not valid JSON"},
      {"empty", "", "report: not valid JSON"},
      {"invalid UTF-8", "{\"organization-name\": \"a\xe4z\"}", "report: not valid JSON"},
      {"duplicate member",
       "{\"organization-name\": \"a\", \"organization-name\": \"b\"}",
       "report: duplicate member \"organization-name\""},
      {"trailing garbage", json + "x", "report: not valid JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto problems = validateReportJson(c.text);
    CAPTURE(joined(problems));
    CHECK(joined(problems).find(c.want) != std::string::npos);
  }
}

TEST_CASE("strict validation adds what our writer promises, lenient allows it") {
  struct Case {
    const char* name;
    std::function<void(Json&)> change;
    std::string want;
  };
  const Case cases[] = {
      {"unknown member", [](Json& j) { j["extra"] = 1; }, "report: unknown member \"extra\""},
      {"unknown row member",
       [](Json& j) { j["policies"][0]["failure-details"][0]["session-count"] = 1; },
       "failure-details[0]: unknown member \"session-count\""},
      {"empty string", [](Json& j) { j["policies"][0]["failure-details"][0]["receiving-mx-helo"] = ""; },
       "receiving-mx-helo: empty string"},
      {"empty array", [](Json& j) { j["policies"][0]["policy"]["mx-host"] = Json::array(); },
       "mx-host: empty array"},
      {"no policy-domain", [](Json& j) { j["policies"][0]["policy"].erase("policy-domain"); },
       "required member \"policy-domain\" missing"},
      {"more than a day", [](Json& j) { j["date-range"]["end-datetime"] = "2016-04-02T00:00:00Z"; },
       "report.date-range: not one whole UTC day"},
      {"offset instead of Z",
       [](Json& j) { j["date-range"]["start-datetime"] = "2016-04-01T02:00:00+02:00"; },
       "not one whole UTC day"},
  };
  const Json original = Json::parse(readFile(goldenPath("rfc8460-appendix-b.json")));
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Json changed = original;
    c.change(changed);
    CHECK(joined(validateReportJson(changed.dump())) == "");
    const auto problems = validateReportJson(changed.dump(), ValidationOptions{true});
    CAPTURE(joined(problems));
    CHECK(joined(problems).find(c.want) != std::string::npos);
  }
}

TEST_CASE("the validator rejects every sys4 report once a required member is gone") {
  for (const auto& name : reportdFixtures()) {
    CAPTURE(name);
    Json doc = Json::parse(readFile(fixturePath(name)));
    doc["policies"][0]["summary"].erase("total-successful-session-count");
    CHECK_FALSE(validateReportJson(doc.dump()).empty());
    doc = Json::parse(readFile(fixturePath(name)));
    doc["policies"][0]["policy"]["policy-type"] = "dane";
    CHECK_FALSE(validateReportJson(doc.dump()).empty());
  }
}
