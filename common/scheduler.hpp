// Scheduler: one-shot timers on the event loop, injected so that policy logic runs in
// tests on ManualScheduler (time as a step, no sleeps). The real one is
// net/event_scheduler.hpp on libevent. Callbacks follow common/pending.hpp: never run
// from inside schedule(), cancelled by destroying the handle.
#pragma once

#include "common/pending.hpp"

#include <chrono>
#include <functional>

namespace mtasts {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual RequestHandle schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

}  // namespace mtasts
