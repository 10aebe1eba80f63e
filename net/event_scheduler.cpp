#include "net/event_scheduler.hpp"

#include "net/callback_guard.hpp"

#include <new>
#include <utility>

namespace mtasts::net {

namespace {

class TimerOperation final : public PendingOperation {
 public:
  TimerOperation(event_base* base, std::function<void()> fn) : fn_(std::move(fn)) {
    ev_.reset(evtimer_new(base, &TimerOperation::onTimer, this));
    if (!ev_) throw std::bad_alloc();
  }
  void arm(std::chrono::milliseconds delay) {
    timeval tv = toTimeval(delay);
    evtimer_add(ev_.get(), &tv);
  }
  void cancel() noexcept override {
    if (ev_) evtimer_del(ev_.get());
    fn_ = nullptr;
  }

 private:
  static void onTimer(evutil_socket_t, short, void* arg) noexcept {
    auto* self = static_cast<TimerOperation*>(arg);
    // Moved out first: the callback may destroy the handle, and with it `self`.
    auto fn = std::move(self->fn_);
    self->fn_ = nullptr;
    if (!fn) return;
    (void)callGuarded("loop", "timer callback", fn);
  }

  std::function<void()> fn_;
  EventPtr ev_;
};

}  // namespace

RequestHandle EventScheduler::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto op = std::make_unique<TimerOperation>(base_, std::move(fn));
  op->arm(delay);
  return op;
}

std::chrono::milliseconds EventScheduler::monotonicNow() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace mtasts::net
