// Scheduler: one-shot timers on the event loop and the monotonic time they run on, injected
// so that policy and server logic runs in tests on ManualScheduler (time as a step, no
// sleeps). The real one is net/event_scheduler.hpp on libevent. Callbacks follow
// common/pending.hpp: never run from inside schedule(), cancelled by destroying the handle.
#pragma once

#include "common/pending.hpp"

#include <chrono>
#include <functional>

namespace mtasts {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual RequestHandle schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // Monotonic time since an arbitrary epoch: what a timeout is measured against (a timer
  // scheduled at t with delay d is due at monotonicNow() == t + d).
  virtual std::chrono::milliseconds monotonicNow() const = 0;
};

}  // namespace mtasts
