// The ReportSender's test world on manual time: fakes for DNS, HTTPS and the mailer, an
// inline task runner, a real LMDB in a temp dir holding one day with two report domains
// (https.test with an https rua, mail.test with a mailto rua). Shared by the sender's state
// machine tests and its metrics tests. Single-threaded; REQUIRE on setup failures.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/inline_task_runner.hpp"
#include "tests/fakes/manual_scheduler.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/report_sender.hpp"

namespace mtasts::tlsrpt::test_world {

using namespace std::chrono_literals;

inline const UtcDay Day{20'786};  // 2026-11-29
constexpr UnixSeconds Hour = 3600;

inline const UnixSeconds DueBy = dayStart(Day) + 86400 + 4 * Hour + 1;  // midnight + the largest delay

class FakeMailSender final : public MailSender {
 public:
  explicit FakeMailSender(::mtasts::testing::FakeQueue& q) : queue_(q) {}
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
  ::mtasts::testing::FakeQueue& queue_;
};

struct World {
  ::mtasts::tlsrpt::test::TempDir dir;
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<DayStore> days;
  std::unique_ptr<ReportStateStore> state;
  ManualClock clock{dayStart(Day) + 12 * Hour};
  ::mtasts::testing::ManualScheduler scheduler;
  ::mtasts::testing::InlineTaskRunner worker;
  ::mtasts::testing::FakeQueue queue;
  ::mtasts::testing::FakeDnsClient dns{queue};
  ::mtasts::testing::FakeHttpsClient https{queue};
  FakeMailSender mail{queue};
  std::int64_t pid = 1001;
  std::set<std::int64_t> alive{1001, 1002};
  std::unique_ptr<ReportSender> sender;
  ReportMetrics metrics;  // what options() hands the sender (detached unless a test registers)

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
    auto https_entry = ::mtasts::tlsrpt::test::sampleEntry(Day, "https.test");
    https_entry.tlsrpt_record = "v=TLSRPTv1; rua=https://reports.https.test/v1/tlsrpt";
    delta.entries = {https_entry, ::mtasts::tlsrpt::test::sampleEntry(Day, "mail.test")};
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
    o.metrics = metrics;
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

}  // namespace mtasts::tlsrpt::test_world
