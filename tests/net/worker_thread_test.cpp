// WorkerThread on a real event_base: work runs on another thread in posting order, each
// completion on the loop thread and never inside post(); work queued at stop() still runs
// (a shutdown must not lose a store write); a throwing task ends only itself.
#include "net/worker_thread.hpp"

#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>
#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mtasts::net {

using namespace std::chrono_literals;

TEST_CASE("work runs off the loop in order and completions run on the loop") {
  EventBasePtr base(event_base_new());
  auto worker = WorkerThread::create(base.get(), "test");
  REQUIRE(worker.has_value());
  const auto loop_thread = std::this_thread::get_id();
  std::vector<int> ran;
  std::vector<int> completed;
  std::atomic<bool> off_loop{true};
  for (int i = 0; i < 100; ++i) {
    (*worker)->post(
        [&, i] {
          if (std::this_thread::get_id() == loop_thread) off_loop = false;
          ran.push_back(i);  // only the worker thread writes it
        },
        [&, i] {
          CHECK(std::this_thread::get_id() == loop_thread);
          completed.push_back(i);
        });
  }
  CHECK(completed.empty());  // never from inside post()
  CHECK((*worker)->pending() == 100);
  REQUIRE(test::runLoopUntil(base.get(), [&] { return completed.size() == 100; }, 10s));
  CHECK(off_loop);
  for (int i = 0; i < 100; ++i) {
    CHECK(ran[static_cast<std::size_t>(i)] == i);
    CHECK(completed[static_cast<std::size_t>(i)] == i);
  }
  CHECK((*worker)->pending() == 0);
}

TEST_CASE("stop runs the work still queued and drops its completions") {
  EventBasePtr base(event_base_new());
  auto worker = WorkerThread::create(base.get(), "test");
  REQUIRE(worker.has_value());
  std::atomic<int> ran{0};
  int completed = 0;
  for (int i = 0; i < 50; ++i) {
    (*worker)->post([&] {
      std::this_thread::sleep_for(1ms);
      ++ran;
    }, [&] { ++completed; });
  }
  (*worker)->stop();
  CHECK(ran == 50);
  event_base_loop(base.get(), EVLOOP_NONBLOCK);
  CHECK(completed == 0);
  (*worker)->stop();  // twice is fine
}

TEST_CASE("a task that throws ends only itself, and its completion still runs") {
  EventBasePtr base(event_base_new());
  auto worker = WorkerThread::create(base.get(), "test");
  REQUIRE(worker.has_value());
  int completed = 0;
  bool second_ran = false;
  (*worker)->post([] { throw std::runtime_error("boom"); }, [&] { ++completed; });
  (*worker)->post([&] { second_ran = true; }, [&] {
    ++completed;
    throw std::runtime_error("boom in completion");
  });
  (*worker)->post([] {}, [&] { ++completed; });
  REQUIRE(test::runLoopUntil(base.get(), [&] { return completed == 3; }, 10s));
  CHECK(second_ran);
}

}  // namespace mtasts::net
