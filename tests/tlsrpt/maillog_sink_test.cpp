// The mail-log sink: a batch's sessions reach the aggregate under the A-label of their policy
// domain, with the batch's position in the same take; unreportable next hops are left out;
// one source per Postfix: a log with Postfix 3.10+ TLSRPT lines while the datagram socket
// runs gives its position only, says so once, and stores that fact for the next start.
#include <doctest/doctest.h>

#include "tests/fakes/log_capture.hpp"
#include "tlsrpt/maillog_sink.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;

MaillogSession session(const std::string& domain, bool success) {
  MaillogSession s;
  s.at = Noon - 600;
  s.policy_domain = domain;
  s.recipient_domain = domain;
  s.policy.type = PolicyType::NoPolicyFound;
  s.policy.domain = domain;
  s.mx_host = "mx." + domain;
  s.mx_ip = "192.0.2.10";
  s.success = success;
  if (!success) {
    s.failure.result = TlsRptResultType::CertificateExpired;
    s.failure.receiving_mx_hostname = "mx." + domain;
    s.failure.receiving_ip = "192.0.2.10";
    s.failure.failure_reason_code = "certificate_has_expired";
  }
  return s;
}

MaillogBatch batch(std::vector<MaillogSession> sessions, std::uint64_t offset, bool tlsrpt_lines = false) {
  MaillogBatch b;
  b.sessions = std::move(sessions);
  b.position_key = "file:/var/log/mail.log";
  FilePosition p;
  p.device = 1;
  p.inode = 2;
  p.offset = offset;
  b.position = p;
  b.saw_tlsrpt_lines = tlsrpt_lines;
  return b;
}

struct Fixture {
  ManualClock clock{Noon};
  CollectorStats stats;
  DayAggregate aggregate{clock, DayLimits{}, stats};
  bool datagrams = false;
};

std::string positionOf(const DayDelta& delta, const std::string& name) {
  for (const auto& [n, v] : delta.positions) {
    if (n == name) return v;
  }
  return "(none)";
}

}  // namespace

TEST_CASE("mail-log sessions reach the aggregate under their A-label domain with the batch position") {
  Fixture f;
  MaillogAggregateSink sink(f.aggregate, [&] { return f.datagrams; }, false);
  std::vector<MaillogSession> sessions{session("good.test", true), session("good.test", false),
                                       session("b\xc3\xbc" "cher.test", true), session("192.0.2.1", true)};
  sessions[2].policy.domain.clear();  // no policy hook: the next hop as logged, a U-label
  sessions[3].reportable = false;     // an IP-literal next hop: Postfix reports nothing
  sink(batch(std::move(sessions), 4096));
  CHECK(sink.counters().sessions == 3);
  CHECK(sink.counters().unreportable == 1);
  DayDelta delta = f.aggregate.takeDelta();
  CHECK(delta.sessions() == 3);
  CHECK(positionOf(delta, "file:/var/log/mail.log") == encodeMaillogPosition(batch({}, 4096).position));
  REQUIRE(delta.entries.size() == 2);
  for (const auto& e : delta.entries) {
    CAPTURE(e.domain);
    CHECK(e.day == utcDayOf(Noon - 600));
    CHECK(e.sources[static_cast<std::size_t>(SessionSource::Maillog)] ==
          e.counts.successful_sessions + e.counts.failed_sessions);
    if (e.domain == "good.test") {
      CHECK(e.counts.successful_sessions == 1);
      CHECK(e.counts.failed_sessions == 1);
      REQUIRE(e.counts.failures.size() == 1);
      CHECK(e.counts.failures[0].detail.result == TlsRptResultType::CertificateExpired);
    } else {
      CHECK(e.domain == "xn--bcher-kva.test");
      CHECK(e.counts.policy.domain == "xn--bcher-kva.test");
    }
  }
}

TEST_CASE("a log with TLSRPT lines while the datagram socket runs gives its position, not its sessions") {
  testing::LogCapture capture("maillog");
  Fixture f;
  f.datagrams = true;
  MaillogAggregateSink sink(f.aggregate, [&] { return f.datagrams; }, false);
  sink(batch({session("good.test", true)}, 100));  // no TLSRPT line seen yet: counted
  CHECK(f.aggregate.takeDelta().sessions() == 1);
  sink(batch({session("good.test", true), session("good.test", true)}, 200, true));
  sink(batch({session("good.test", true)}, 300, true));
  DayDelta delta = f.aggregate.takeDelta();
  CHECK(delta.sessions() == 0);
  CHECK(sink.counters().one_source_skipped == 3);
  CHECK(positionOf(delta, "file:/var/log/mail.log") == encodeMaillogPosition(batch({}, 300).position));
  CHECK(positionOf(delta, tlsrptLinesMarkerName("file:/var/log/mail.log")) == "1");
  CHECK(capture.matching(spdlog::level::warn, {"one source per Postfix"}).size() == 1);

  SUBCASE("without the datagram socket the same log is counted") {
    f.datagrams = false;
    sink(batch({session("good.test", true)}, 400, true));
    CHECK(f.aggregate.takeDelta().sessions() == 1);
  }
}

TEST_CASE("a stored TLSRPT-lines marker skips the log from the first batch of the next start") {
  Fixture f;
  MaillogAggregateSink sink(f.aggregate, [] { return true; }, true);
  sink(batch({session("good.test", true)}, 100));
  DayDelta delta = f.aggregate.takeDelta();
  CHECK(delta.sessions() == 0);
  CHECK(positionOf(delta, tlsrptLinesMarkerName("file:/var/log/mail.log")) == "(none)");  // already stored
  CHECK(positionOf(delta, "file:/var/log/mail.log") != "(none)");
}
