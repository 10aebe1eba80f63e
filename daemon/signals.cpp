#include "daemon/signals.hpp"

#include "common/log.hpp"

#include <event2/event.h>

#include <csignal>

namespace mtasts::daemon {

SignalHandlers::SignalHandlers(event_base* base, Handler on_stop, Handler on_reload)
    : on_stop_(std::move(on_stop)), on_reload_(std::move(on_reload)) {
  std::signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    event* ev = evsignal_new(base, sig, &SignalHandlers::trampoline, this);
    if (ev) {
      evsignal_add(ev, nullptr);
      events_.push_back(ev);
    }
  }
}

SignalHandlers::~SignalHandlers() {
  for (event* ev : events_) event_free(ev);
}

void SignalHandlers::trampoline(int signal, short, void* arg) noexcept {
  auto* self = static_cast<SignalHandlers*>(arg);
  try {
    if (signal == SIGHUP) self->on_reload_(signal);
    else self->on_stop_(signal);
  } catch (const std::exception& e) {
    moduleLogger("main")->error("signal handler failed signal={} error={}", signal, escapeForLog(e.what()));
  }
}

}  // namespace mtasts::daemon
