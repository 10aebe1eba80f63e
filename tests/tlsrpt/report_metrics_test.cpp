// The report sender's metrics (tlsrpt/report_metrics.hpp) driven by the ReportSender on
// manual time: registered in a real Registry, read back as the scrape renders them. A 503
// then a 200 is one failed attempt and one delivery; a dead endpoint is given up once; the
// pending gauge counts the open destinations and falls to zero once all are closed.
#include <doctest/doctest.h>

#include <string>

#include "common/metrics.hpp"
#include "common/metrics_text.hpp"
#include "tests/tlsrpt/report_sender_world.hpp"
#include "tlsrpt/report_metrics.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test_world::Hour;
using mtasts::tlsrpt::test_world::World;

namespace {

struct MeteredWorld : World {
  metrics::Registry registry;
  MeteredWorld() {
    auto m = ReportMetrics::create(registry);
    REQUIRE(m);
    metrics = *m;
  }
  std::uint64_t count(const char* which, DeliveryKind kind) const {
    const auto* s = metrics.of(kind);
    REQUIRE(s != nullptr);
    const std::string w = which;
    if (w == "delivered") return s->delivered.value();
    if (w == "failed") return s->failed.value();
    return s->given_up.value();
  }
  std::string scrape() const { return metrics::renderPrometheusText(registry.collect()); }
};

}  // namespace

TEST_CASE("the report metrics register under Prometheus names, one series per scheme") {
  MeteredWorld w;
  const std::string text = w.scrape();
  CAPTURE(text);
  for (const char* line : {"# TYPE mtastsd_tlsrpt_reports_built_total counter",
                           "mtastsd_tlsrpt_reports_delivered_total{scheme=\"mailto\"} 0",
                           "mtastsd_tlsrpt_reports_delivered_total{scheme=\"https\"} 0",
                           "mtastsd_tlsrpt_report_attempts_failed_total{scheme=\"https\"} 0",
                           "mtastsd_tlsrpt_reports_given_up_total{scheme=\"mailto\"} 0",
                           "# TYPE mtastsd_tlsrpt_report_destinations_pending gauge"}) {
    CAPTURE(line);
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(ReportMetrics::create(w.registry));  // a second create() names the same series
  CHECK(w.metrics.of(DeliveryKind::Lookup) == nullptr);
}

TEST_CASE("a 503 then a 200 counts one failed https attempt and one delivery, and nothing stays pending") {
  MeteredWorld w;
  w.https.setResponse("reports.https.test", 503, {}, "busy");
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.posts() == 1);
  CHECK(w.metrics.built.value() == 2);
  CHECK(w.count("failed", DeliveryKind::Https) == 1);
  CHECK(w.count("delivered", DeliveryKind::Https) == 0);
  CHECK(w.count("delivered", DeliveryKind::Mailto) == 1);
  CHECK(w.metrics.pending.value() == 1);  // the https destination waits for its retry

  w.https.setResponse("reports.https.test", 200, {}, "");
  w.advance(Hour);
  REQUIRE(w.posts() == 2);
  CHECK(w.count("failed", DeliveryKind::Https) == 1);
  CHECK(w.count("delivered", DeliveryKind::Https) == 1);
  CHECK(w.count("given_up", DeliveryKind::Https) == 0);
  CHECK(w.count("failed", DeliveryKind::Mailto) == 0);
  CHECK(w.metrics.pending.value() == 0);
  const std::string text = w.scrape();
  CHECK(text.find("mtastsd_tlsrpt_reports_delivered_total{scheme=\"https\"} 1") != std::string::npos);
  CHECK(text.find("mtastsd_tlsrpt_report_attempts_failed_total{scheme=\"https\"} 1") != std::string::npos);
  CHECK(text.find("mtastsd_tlsrpt_report_destinations_pending 0") != std::string::npos);
}

TEST_CASE("a dead endpoint counts every failed attempt and is given up once") {
  MeteredWorld w;
  w.https.setError("reports.https.test", net::HttpsErrorKind::Connect, "connection refused");
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.posts() == 1);
  w.advance(26 * Hour);
  CHECK(w.destination("https.test", DeliveryKind::Https)->delivery.state == DeliveryState::GivenUp);
  CHECK(w.count("given_up", DeliveryKind::Https) == 1);
  CHECK(w.count("failed", DeliveryKind::Https) == static_cast<std::uint64_t>(w.posts()));
  CHECK(w.count("delivered", DeliveryKind::Https) == 0);
  CHECK(w.count("delivered", DeliveryKind::Mailto) == 1);
  CHECK(w.metrics.pending.value() == 0);
  w.advance(24 * Hour);
  CHECK(w.count("given_up", DeliveryKind::Https) == 1);
}

TEST_CASE("a sender without a registry counts into nowhere and still works") {
  World w;  // default ReportMetrics: detached handles
  w.https.setResponse("reports.https.test", 200, {}, "");
  w.startSender();
  w.advanceTo(test_world::DueBy);
  CHECK(w.sender->counters().delivered == 2);
}
