// The collector's thread with real time: it follows a file, hands batches to the sink on its
// own thread, publishes counters, and on stop() hands what it read since the last batch and
// ends. Waits are bounded polls of stats(), never fixed sleeps that hope for the best.
#include "tests/tlsrpt/maillog_file_support.hpp"
#include "tlsrpt/maillog_collector.hpp"
#include "tlsrpt/maillog_file_follower.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

template <typename Pred>
bool waitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("the collector follows a file on its thread and hands the rest over at stop") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileOptions fo;
  fo.path = log;
  MaillogCollectorOptions co;
  co.poll_interval_ms = 20;
  co.pump.batch_interval = 3600;  // no batch by time: what is read stays until stop()
  std::mutex mutex;
  std::vector<MaillogBatch> batches;
  std::thread::id sink_thread;
  SystemClock clock;
  MaillogCollector collector(std::make_unique<MaillogFileFollower>(fo), co, [&](MaillogBatch&& b) {
    std::lock_guard lock(mutex);
    sink_thread = std::this_thread::get_id();
    batches.push_back(std::move(b));
  }, clock);
  CHECK(collector.key() == "file:" + log);
  REQUIRE(collector.start(""));
  REQUIRE(waitFor([&] { std::lock_guard lock(mutex); return batches.size() == 1; }));  // the start position
  const std::string fixture = slurp(std::string(MTASTS_MAILLOG_FIXTURES) + "/postfix-3.7-e2e.log");
  append(log, fixture);
  REQUIRE(waitFor([&] { return collector.stats().pump.entries == 110; }));
  const MaillogCollectorStats mid = collector.stats();
  CHECK(mid.running);
  CHECK(mid.sessions.sessions == 20);
  CHECK(mid.source.bytes == fixture.size());
  collector.stop();
  CHECK_FALSE(collector.stats().running);
  std::lock_guard lock(mutex);
  REQUIRE(batches.size() == 2);
  CHECK(sink_thread != std::this_thread::get_id());
  CHECK(batches[1].sessions.size() == 20);
  CHECK(std::get<FilePosition>(batches[1].position).offset == fixture.size());
  collector.stop();  // idempotent
}

TEST_CASE("a collector whose source cannot start says why and stops") {
  MaillogFileOptions fo;
  fo.path = "relative/mail.log";
  SystemClock clock;
  MaillogCollector collector(std::make_unique<MaillogFileFollower>(fo), {}, [](MaillogBatch&&) {}, clock);
  REQUIRE(collector.start(std::string("\x09garbage")));  // an unreadable stored record is logged, not fatal
  REQUIRE(waitFor([&] { return !collector.stats().running; }));
  CHECK(collector.stats().error.find("absolute") != std::string::npos);
}
