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

#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/inline_task_runner.hpp"
#include "tests/fakes/manual_scheduler.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_sender.hpp"
#include "tlsrpt/report_validator.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace std::chrono_literals;

namespace {

const UtcDay Day{20'786};  // 2026-11-29
constexpr UnixSeconds Hour = 3600;

const UnixSeconds DueBy = dayStart(Day) + 86400 + 4 * Hour + 1;  // midnight + the largest delay

class FakeMailSender final : public MailSender {
 public:
  explicit FakeMailSender(testing::FakeQueue& q) : queue_(q) {}
  struct Sent {
    std::string from, to, message;
  };
  std::vector<Sent> sent;  // every hand-over, accepted or not
  bool fail = false;
  bool hold = false;  // never answers (a sendmail killed with the process)
  RequestHandle send(const std::string& from, const std::string& to, std::string message, Callback done) override {
    sent.push_back({from, to, message});
    if (hold) return queue_.pushHeld([] {});
    const bool f = fail;
    return queue_.push([done = std::move(done), f] {
      if (f) {
        done(mtasts::fail(ErrorCode::Temporary, "sendmail exit 75"));
      } else {
        done(Result<void>{});
      }
    });
  }

 private:
  testing::FakeQueue& queue_;
};

struct World {
  test::TempDir dir;
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<DayStore> days;
  std::unique_ptr<ReportStateStore> state;
  ManualClock clock{dayStart(Day) + 12 * Hour};
  testing::ManualScheduler scheduler;
  testing::InlineTaskRunner worker;
  testing::FakeQueue queue;
  testing::FakeDnsClient dns{queue};
  testing::FakeHttpsClient https{queue};
  FakeMailSender mail{queue};
  std::int64_t pid = 1001;
  std::set<std::int64_t> alive{1001, 1002};
  std::unique_ptr<ReportSender> sender;

  World() {
    auto e = cache::LmdbEnv::open(cache::LmdbOptions{dir.path()});
    REQUIRE(e);
    env = *e;
    auto d = DayStore::attach(env);
    REQUIRE(d);
    days = std::move(*d);
    auto s = ReportStateStore::attach(env);
    REQUIRE(s);
    state = std::move(*s);
    DayDelta delta;
    auto https_entry = test::sampleEntry(Day, "https.test");
    https_entry.tlsrpt_record = "v=TLSRPTv1; rua=https://reports.https.test/v1/tlsrpt";
    delta.entries = {https_entry, test::sampleEntry(Day, "mail.test")};
    REQUIRE(days->commit(delta, nullptr, DayLimits{}));
    dns.setAddress("reports.https.test", "192.0.2.80");
  }

  ReportSenderOptions options() {
    ReportSenderOptions o;
    o.identity = ReporterIdentity{"Sender Org", "tlsrpt@sender.test", "sender.test"};
    o.mail.from = "tlsrpt-noreply@sender.test";
    o.mail.organization_name = "Sender Org";
    o.mail.dkim_domain = "sender.test";
    o.max_delay = 4 * Hour;
    o.random = [n = static_cast<std::uint64_t>(pid)]() mutable { return n += 0x9e3779b97f4a7c15ULL; };  // a run's own tokens
    o.pid = pid;
    o.process_alive = [this](std::int64_t p) { return alive.count(p) > 0; };
    return o;
  }

  void startSender() {
    sender = std::make_unique<ReportSender>(
        ReportSenderDeps{clock, scheduler, worker, dns, https, mail, *days, state.get()}, options());
    sender->start();
    settle();
  }

  // Runs everything that is ready now (timers at 0, completions, fake answers).
  void settle() {
    for (int quiet = 0, i = 0; quiet < 3 && i < 10'000; ++i) {
      scheduler.advance(0ms);
      const int ran = worker.runAll() + queue.deliver();
      quiet = ran == 0 ? quiet + 1 : 0;
    }
  }
  // Moves the clock and the scheduler together, a minute at a time.
  void advance(UnixSeconds seconds) {
    while (seconds > 0) {
      const UnixSeconds step = std::min<UnixSeconds>(seconds, 60);
      clock.advance(step);
      scheduler.advance(std::chrono::seconds(step));
      settle();
      seconds -= step;
    }
  }
  void advanceTo(UnixSeconds t) { advance(t - clock.now()); }
  // Up to the first delivery attempt of the day (after midnight plus the random delay).
  void advanceToFirstAttempt() {
    while (posts() == 0 && mail.sent.empty() && clock.now() < DueBy) advance(60);
  }

  std::vector<DeliveryRecord> deliveries(const std::string& domain) {
    auto got = state->deliveries(deliveryDomainPrefix(Day, domain));
    REQUIRE(got);
    return *got;
  }
  const DeliveryRecord* destination(const std::string& domain, DeliveryKind kind) {
    static std::vector<DeliveryRecord> keep;
    keep = deliveries(domain);
    for (const auto& r : keep)
      if (r.delivery.kind == kind) return &r;
    return nullptr;
  }
  int posts() const {
    auto it = https.fetches.find("reports.https.test");
    return it == https.fetches.end() ? 0 : it->second;
  }
};

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
