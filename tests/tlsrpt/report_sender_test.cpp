// The ReportSender state machine on manual time: fakes for DNS, HTTPS and the mailer, an
// inline task runner, a real LMDB in a temp dir. A day's reports are built after midnight
// plus the delay, each destination is delivered once; a failing one is retried with the
// doubling interval and given up at the end of the 24 h window; a new sender on the same
// store (a restart) neither rebuilds nor resends, and takes over the claim of a killed one
// (the one duplicate).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/tlsrpt/report_sender_world.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_sender.hpp"
#include "tlsrpt/report_validator.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace std::chrono_literals;

using mtasts::tlsrpt::test_world::Day;
using mtasts::tlsrpt::test_world::DueBy;
using mtasts::tlsrpt::test_world::Hour;
using mtasts::tlsrpt::test_world::World;

namespace {

std::string messageId(const std::string& message) {
  const auto at = message.find("\r\nMessage-ID: ");
  if (at == std::string::npos) return "";
  return message.substr(at + 2, message.find("\r\n", at + 2) - at - 2);
}

}  // namespace

TEST_CASE("nothing is built before midnight; after the delay each destination gets its report once") {
  World w;
  w.https.setResponse("reports.https.test", 200, {}, "");
  w.startSender();
  w.advanceTo(dayStart(Day) + 86400 - 60);
  CHECK(w.posts() == 0);
  CHECK(w.mail.sent.empty());
  w.advanceTo(DueBy);
  REQUIRE(w.posts() == 1);
  REQUIRE(w.mail.sent.size() == 1);
  CHECK(w.sender->counters().built == 2);
  CHECK(w.sender->counters().delivered == 2);

  const auto& post = w.https.requests.back();
  CHECK(post.method == net::HttpMethod::Post);
  CHECK(post.path == "/v1/tlsrpt");
  CHECK(post.headers.size() >= 1);
  bool gzip_type = false;
  for (const auto& [name, value] : post.headers) gzip_type |= (name == "Content-Type" && value == "application/tlsrpt+gzip");
  CHECK(gzip_type);
  auto json = gzipDecompress(post.body, 1 << 20);
  REQUIRE(json);
  CHECK(validateReportJson(*json, ValidationOptions{true}).empty());
  const auto report = nlohmann::json::parse(*json);
  CHECK(report.at("policies").at(0).at("summary").at("total-successful-session-count") == 40);
  CHECK(report.at("date-range").at("start-datetime") == "2026-11-29T00:00:00Z");
  CHECK(w.mail.sent[0].to == "tlsrpt@mail.test");
  CHECK(w.mail.sent[0].message.find("TLS-Report-Domain: mail.test") != std::string::npos);

  w.advance(48 * Hour);
  CHECK(w.posts() == 1);
  CHECK(w.mail.sent.size() == 1);
  CHECK(w.destination("https.test", DeliveryKind::Https)->delivery.state == DeliveryState::Done);
}

TEST_CASE("a 503 is retried after the first interval and the 200 that follows is the one delivery") {
  World w;
  w.https.setResponse("reports.https.test", 503, {}, "busy");
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.posts() == 1);
  const std::string first_body = w.https.requests.back().body;
  const auto* rec = w.destination("https.test", DeliveryKind::Https);
  REQUIRE(rec != nullptr);
  CHECK(rec->delivery.state == DeliveryState::Pending);
  CHECK(rec->delivery.attempts == 1);
  const UnixSeconds retry_at = rec->delivery.next_attempt;
  CHECK(retry_at - rec->delivery.first_attempt == 300);  // RetryPolicy.first_interval

  w.https.setResponse("reports.https.test", 200, {}, "");
  w.advanceTo(retry_at - 60);
  CHECK(w.posts() == 1);
  w.advanceTo(retry_at + 60);
  CHECK(w.posts() == 2);
  CHECK(w.https.requests.back().body == first_body);  // the same stored bytes and report-id
  CHECK(w.destination("https.test", DeliveryKind::Https)->delivery.state == DeliveryState::Done);
  w.advance(30 * Hour);
  CHECK(w.posts() == 2);
  CHECK(w.sender->counters().retried >= 1);
  CHECK(w.sender->counters().given_up == 0);
}

TEST_CASE("a dead endpoint is tried with doubling intervals and given up once, 24 hours after its first attempt") {
  World w;
  w.https.setError("reports.https.test", net::HttpsErrorKind::Connect, "connection refused");
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.posts() == 1);
  const UnixSeconds first = w.destination("https.test", DeliveryKind::Https)->delivery.first_attempt;
  std::vector<UnixSeconds> gaps;
  UnixSeconds last = first;
  int seen = 1;
  while (w.clock.now() < first + 26 * Hour) {
    w.advance(60);
    if (w.posts() != seen) {
      seen = w.posts();
      gaps.push_back(w.clock.now() - last);
      last = w.clock.now();
    }
  }
  CAPTURE(gaps.size());
  REQUIRE(gaps.size() >= 5);
  // 300 s doubling (each seen within the minute step), capped at 4 h.
  CHECK(gaps[0] >= 300);
  CHECK(gaps[0] <= 360);
  CHECK(gaps[1] >= 600);
  CHECK(gaps[1] <= 660);
  CHECK(gaps[2] >= 1200);
  for (auto g : gaps) CHECK(g <= 4 * Hour + 60);
  CHECK(last <= first + 24 * Hour + 60);  // the last attempt is at the end of the window
  const auto* rec = w.destination("https.test", DeliveryKind::Https);
  CHECK(rec->delivery.state == DeliveryState::GivenUp);
  CHECK(w.sender->counters().given_up == 1);
  const int total = w.posts();
  w.advance(24 * Hour);
  CHECK(w.posts() == total);
}

TEST_CASE("a restart resumes: no report rebuilt, nothing delivered sent again, the failed one retried with the same bytes") {
  World w;
  w.https.setResponse("reports.https.test", 503, {}, "busy");
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.posts() == 1);
  REQUIRE(w.mail.sent.size() == 1);
  const std::string body = w.https.requests.back().body;
  bool stopped = false;
  w.sender->stop(1s, [&] { stopped = true; });
  w.settle();
  CHECK(stopped);
  w.sender.reset();

  w.pid = 1002;  // the restarted daemon
  w.https.setResponse("reports.https.test", 200, {}, "");
  w.startSender();
  w.advance(Hour);
  CHECK(w.sender->counters().built == 0);
  CHECK(w.posts() == 2);
  CHECK(w.https.requests.back().body == body);
  CHECK(w.mail.sent.size() == 1);
  w.advance(30 * Hour);
  CHECK(w.posts() == 2);
  CHECK(w.mail.sent.size() == 1);
}

TEST_CASE("after a kill -9 during a send, the next run takes the claim over: the one duplicate, then never again") {
  World w;
  w.https.setResponse("reports.https.test", 200, {}, "");
  w.mail.hold = true;  // sendmail never returns: the process dies with the claim stored
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.mail.sent.size() == 1);
  CHECK(w.destination("mail.test", DeliveryKind::Mailto)->delivery.state == DeliveryState::Claimed);
  w.sender.reset();  // kill -9: no stop, no outcome stored
  w.alive.erase(1001);

  w.pid = 1002;
  w.mail.hold = false;
  w.startSender();
  w.advance(Hour);
  REQUIRE(w.mail.sent.size() == 2);  // sent again: the documented duplicate window
  CHECK(messageId(w.mail.sent[1].message) == messageId(w.mail.sent[0].message));  // the same report, same id
  CHECK_FALSE(messageId(w.mail.sent[0].message).empty());
  CHECK(w.destination("mail.test", DeliveryKind::Mailto)->delivery.state == DeliveryState::Done);
  CHECK(w.posts() == 1);
  w.advance(30 * Hour);
  CHECK(w.mail.sent.size() == 2);
}

TEST_CASE("a claim of a live process is left alone by a second process") {
  World w;
  w.https.setResponse("reports.https.test", 200, {}, "");
  w.mail.hold = true;
  w.startSender();
  w.advanceToFirstAttempt();
  REQUIRE(w.mail.sent.size() == 1);
  auto first = std::move(w.sender);  // still running, pid 1001 alive
  w.pid = 1002;
  w.mail.hold = false;
  w.startSender();
  w.advance(10 * 60);
  CHECK(w.mail.sent.size() == 1);
  CHECK(w.destination("mail.test", DeliveryKind::Mailto)->delivery.state == DeliveryState::Claimed);
  first.reset();
}
