#include "net/event_scheduler.hpp"

#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;

TEST_CASE("event scheduler runs timers in deadline order, never inside schedule()") {
  EventBasePtr base(event_base_new());
  REQUIRE(base);
  EventScheduler scheduler(base.get());
  std::vector<int> order;
  auto late = scheduler.schedule(30ms, [&] { order.push_back(30); });
  auto early = scheduler.schedule(5ms, [&] { order.push_back(5); });
  auto now = scheduler.schedule(0ms, [&] { order.push_back(0); });
  CHECK(order.empty());  // nothing ran synchronously, not even the zero delay
  REQUIRE(test::runLoopUntil(base.get(), [&] { return order.size() == 3; }, 2000ms));
  CHECK(order == std::vector<int>{0, 5, 30});
}

TEST_CASE("event scheduler never runs a callback whose handle was destroyed or cancelled") {
  EventBasePtr base(event_base_new());
  EventScheduler scheduler(base.get());
  int destroyed_ran = 0;
  int cancelled_ran = 0;
  bool marker = false;
  scheduler.schedule(0ms, [&] { ++destroyed_ran; });  // handle dropped at once
  auto cancelled = scheduler.schedule(0ms, [&] { ++cancelled_ran; });
  cancelled->cancel();
  auto after = scheduler.schedule(10ms, [&] { marker = true; });
  REQUIRE(test::runLoopUntil(base.get(), [&] { return marker; }, 2000ms));
  CHECK(destroyed_ran == 0);
  CHECK(cancelled_ran == 0);
  cancelled->cancel();  // cancelling twice is harmless
}

TEST_CASE("event scheduler callback may destroy its own handle and runs only once") {
  EventBasePtr base(event_base_new());
  EventScheduler scheduler(base.get());
  int runs = 0;
  RequestHandle self;
  self = scheduler.schedule(0ms, [&] {
    ++runs;
    self.reset();
  });
  bool marker = false;
  auto after = scheduler.schedule(20ms, [&] { marker = true; });
  REQUIRE(test::runLoopUntil(base.get(), [&] { return marker; }, 2000ms));
  CHECK(runs == 1);
  CHECK_FALSE(self);
}

TEST_CASE("toTimeval splits milliseconds and clamps negatives") {
  struct Case { long ms; long sec; long usec; };
  for (auto c : {Case{0, 0, 0}, Case{1500, 1, 500000}, Case{-5, 0, 0}, Case{999, 0, 999000}}) {
    CAPTURE(c.ms);
    timeval tv = toTimeval(std::chrono::milliseconds(c.ms));
    CHECK(tv.tv_sec == c.sec);
    CHECK(tv.tv_usec == c.usec);
  }
}
