#include "net/signals.hpp"

#include "net/callback_guard.hpp"

#include <event2/event.h>
#include <pthread.h>

#include <csignal>

namespace mtasts::net {

namespace {

constexpr int HandledSignals[] = {SIGTERM, SIGINT, SIGHUP};

void maskHandledSignals(int how) noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : HandledSignals) sigaddset(&set, sig);
  // Cannot fail with a valid `how` and set; there is nothing better to do if it did.
  (void)pthread_sigmask(how, &set, nullptr);
}

}  // namespace

void holdSignals() noexcept { maskHandledSignals(SIG_BLOCK); }

void releaseSignals() noexcept { maskHandledSignals(SIG_UNBLOCK); }

SignalHandlers::SignalHandlers(event_base* base, Handler on_stop, Handler on_reload)
    : on_stop_(std::move(on_stop)), on_reload_(std::move(on_reload)) {
  std::signal(SIGPIPE, SIG_IGN);
  for (int sig : HandledSignals) {
    event* ev = evsignal_new(base, sig, &SignalHandlers::trampoline, this);
    if (ev) {
      evsignal_add(ev, nullptr);
      events_.push_back(ev);
    }
  }
  // Only now: libevent's handler records a signal held since start-up and the loop runs
  // our handler for it on its first turn.
  releaseSignals();
}

SignalHandlers::~SignalHandlers() {
  // Removing an event restores the default action; a SIGTERM during the rest of teardown
  // (closing the store) then waits for the exit instead of cutting it short.
  holdSignals();
  for (event* ev : events_) event_free(ev);
}

void SignalHandlers::trampoline(int signal, short, void* arg) noexcept {
  auto* self = static_cast<SignalHandlers*>(arg);
  (void)callGuarded("main", signal == SIGHUP ? "reload signal handler" : "stop signal handler", [&] {
    if (signal == SIGHUP) self->on_reload_(signal);
    else self->on_stop_(signal);
  });
}

}  // namespace mtasts::net
