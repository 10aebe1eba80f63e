// Signal handling. main() blocks SIGTERM/SIGINT/SIGHUP first thing (holdSignals), so one
// that arrives during start-up stays pending instead of killing the process; the daemon's
// SignalHandlers take them over on the event loop and unblock them, so a held SIGTERM stops
// the daemon (exit 0) as soon as its loop runs. The one-shot commands get the default
// actions back with releaseSignals(). Handlers run as ordinary loop callbacks (evsignal),
// not in signal context; SIGPIPE is ignored for the daemon. RAII: the destructor blocks the
// signals again, then removes the events, so teardown is not cut short either.
#pragma once

#include <functional>
#include <vector>

struct event;
struct event_base;

namespace mtasts::net {

// Blocks SIGTERM, SIGINT and SIGHUP for the calling thread. Called before any thread
// exists, so every later thread inherits the mask. Nothing is forked or exec'd while they
// are held; whatever ever is must unblock them in the child (a mask survives exec).
void holdSignals() noexcept;
// Unblocks them: a signal that arrived meanwhile is delivered now, to whatever handles it.
void releaseSignals() noexcept;

class SignalHandlers {
 public:
  using Handler = std::function<void(int signal)>;
  // Installs the loop's events, then releases the held signals (see holdSignals).
  SignalHandlers(event_base* base, Handler on_stop, Handler on_reload);
  ~SignalHandlers();
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;

 private:
  static void trampoline(int signal, short, void* arg) noexcept;
  Handler on_stop_;
  Handler on_reload_;
  std::vector<event*> events_;
};

}  // namespace mtasts::net
