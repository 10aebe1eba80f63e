// EventScheduler: mtasts::Scheduler on a libevent event_base (not owned; it must outlive
// every handle returned by schedule()). One evtimer per scheduled call; the callback runs
// from the loop, never inside schedule(); destroying the handle cancels it.
// Errors: event_new failing (out of memory) is fatal for the daemon: std::bad_alloc.
#pragma once

#include "common/scheduler.hpp"
#include "net/c_handles.hpp"
#include "net/timeval.hpp"

#include <chrono>
#include <functional>

namespace mtasts::net {

class EventScheduler final : public mtasts::Scheduler {
 public:
  explicit EventScheduler(event_base* base) : base_(base) {}
  RequestHandle schedule(std::chrono::milliseconds delay, std::function<void()> fn) override;
  // std::chrono::steady_clock (libevent's timers run on the same monotonic clock).
  std::chrono::milliseconds monotonicNow() const override;

 private:
  event_base* base_;
};

}  // namespace mtasts::net
