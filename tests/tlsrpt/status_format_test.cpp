// --tlsrpt-status formatting: golden text and JSON for a store with datagram and own-failure
// entries over two days; each JSON entry's policy, summary and failure-details equal what the
// report writer writes for that day's report (and that report validates strictly); readStatus
// reads one day or all of them from a real store; a store without counters says so.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_validator.hpp"
#include "tlsrpt/status_format.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;  // 2025-11-30T12:00:00Z

std::string readGolden(const std::string& name) {
  std::FILE* f = std::fopen((std::string(MTASTS_GOLDEN_DIR) + "/" + name).c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "missing golden file ", name);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

void checkGolden(const std::string& name, const std::string& got) {
  const char* update = std::getenv("MTASTS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(std::string(MTASTS_GOLDEN_DIR) + "/" + name, std::ios::binary) << got;
  }
  CAPTURE(name);
  CHECK(got == readGolden(name));
}

// Two days: real datagrams on the first, an own failure and a datagram on the second.
StatusInput sampleStatus() {
  ManualClock clock(Noon);
  CollectorStats stats;
  DayAggregate aggregate(clock, DayLimits{}, stats);
  std::vector<DatagramSessions> batch;
  for (const char* name : {"pf311-good-success.dgram", "pf311-good-success.dgram", "pf311-bad-202-certificate-host-mismatch.dgram",
                           "pf311-nosts-success-no-policy-found.dgram", "libtlsrpt-json-escapes.dgram"}) {
    batch.push_back(fixtureSessions(name));
  }
  aggregate.addDatagrams(batch);
  clock.advance(86'400);
  REQUIRE(aggregate.addOwnFailure("fetchfail.test", TlsRptResultType::StsPolicyFetchError, "HTTP status 404"));
  std::vector<DatagramSessions> second{fixtureSessions("pf311-good-success.dgram")};
  aggregate.addDatagrams(second);
  DayDelta delta = aggregate.takeDelta();
  StatusInput status;
  for (auto& e : delta.entries) {
    if (status.days.empty() || status.days.back().day != e.day) status.days.push_back(StatusDay{e.day, {}});
    status.days.back().entries.push_back(std::move(e));
  }
  CollectorCounters counters;
  counters.started_at = Noon - 3600;
  counters.last_commit = Noon + 86'400;
  counters.values = {{"received", 7}, {"accepted", 6}, {"rejected-invalid", 1}, {"sessions-datagram", 6}};
  status.collector = counters;
  return status;
}

}  // namespace

TEST_CASE("the status text lists each entry with counts, sources and rows, then the collector") {
  checkGolden("tlsrpt-status.txt", formatStatusText(sampleStatus()));
}

TEST_CASE("the status JSON is golden and each entry carries exactly what the report will") {
  const StatusInput status = sampleStatus();
  const std::string json = formatStatusJson(status);
  checkGolden("tlsrpt-status.json", json);
  const auto doc = nlohmann::json::parse(json);
  REQUIRE(doc["days"].is_array());
  CHECK(doc["collector"]["received"] == 7);
  CHECK(doc["collector"]["rejected"] == 1);
  CHECK(doc["collector"]["counters"]["sessions-datagram"] == 6);
  std::size_t checked = 0;
  for (const auto& day : status.days) {
    for (const auto& entry : day.entries) {
      // The report of that day and domain, with this entry only.
      Report report;
      report.organization_name = "mtastsd test";
      report.contact_info = "tlsrpt@example.net";
      report.report_id = "test";
      report.day = day.day;
      report.policy_domain = entry.domain;
      report.policies = {entry.counts};
      const auto written = writeReportJson(report);
      REQUIRE(written);
      const auto problems = validateReportJson(*written, ValidationOptions{true});
      for (const auto& p : problems) MESSAGE(p);
      CHECK(problems.empty());
      const auto from_report = nlohmann::json::parse(*written)["policies"][0];
      bool found = false;
      for (const auto& e : doc["days"]) {
        if (e["day"] != formatDate(day.day) || e["policy-domain"] != entry.domain) continue;
        if (e["policy"] != from_report["policy"]) continue;
        found = true;
        CHECK(e["summary"] == from_report["summary"]);
        CHECK(e.value("failure-details", nlohmann::json()) == from_report.value("failure-details", nlohmann::json()));
        CHECK(e["sources"]["datagram"] == entry.sources[0]);
      }
      CHECK(found);
      ++checked;
    }
  }
  CHECK(checked == 6);
}

TEST_CASE("readStatus reads one day or every day from the store, and no counters before a commit") {
  TempDir dir;
  auto env = cache::LmdbEnv::open(cache::LmdbOptions{dir.path()});
  REQUIRE(env);
  auto store = DayStore::attach(*env);
  REQUIRE(store);
  auto empty = readStatus(**store, std::nullopt);
  REQUIRE(empty);
  CHECK(empty->days.empty());
  CHECK_FALSE(empty->collector.has_value());
  CHECK(formatStatusText(*empty).find("no counters stored yet") != std::string::npos);
  CHECK(nlohmann::json::parse(formatStatusJson(*empty))["collector"].is_null());
  const StatusInput status = sampleStatus();
  DayDelta delta;
  for (const auto& d : status.days) delta.entries.insert(delta.entries.end(), d.entries.begin(), d.entries.end());
  REQUIRE((*store)->commit(delta, &*status.collector, DayLimits{}));
  auto all = readStatus(**store, std::nullopt);
  REQUIRE(all);
  CHECK(formatStatusJson(*all) == formatStatusJson(status));
  auto one = readStatus(**store, status.days[1].day);
  REQUIRE(one);
  REQUIRE(one->days.size() == 1);
  CHECK(one->days[0].entries.size() == 2);
  auto none = readStatus(**store, UtcDay{1});
  REQUIRE(none);
  CHECK(formatStatusText(*none).starts_with("1970-01-02  no sessions counted\n"));
}
