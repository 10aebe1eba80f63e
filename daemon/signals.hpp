// Signal handling on the event loop: SIGTERM/SIGINT (stop) and SIGHUP (reload) are
// delivered through evsignal events, so the handlers run as ordinary loop callbacks, not
// in signal context. SIGPIPE is ignored for the process (a client that went away shows
// up as a write error on its connection). RAII: the destructor removes the events.
#pragma once

#include <functional>
#include <vector>

struct event;
struct event_base;

namespace mtasts::daemon {

class SignalHandlers {
 public:
  using Handler = std::function<void(int signal)>;
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

}  // namespace mtasts::daemon
