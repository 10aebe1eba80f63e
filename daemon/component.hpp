// Component: one part of the running daemon (the policy engine, the socketmap server; next
// the TLS-RPT collector, the report sender, the metrics listener). The Runtime (runtime.hpp)
// drives every component through the same lifecycle, in the order of the component list
// (components.cpp), on the loop thread:
//   bind()   as root, before the privilege drop: listeners and sockets (no I/O served yet)
//   start()  after the drop and the store open: open its stores, start timers and serving
//   reload() SIGHUP: the reloadable keys of its own section may have changed
//   drain()  SIGTERM: stop taking work, finish what is in flight within its bound, then
//            call done exactly once (possibly at once)
//   flush()  persist batched state (after every drain finished, and at exit)
// Errors of bind()/start() are Results that stop the daemon with a clean exit code.
#pragma once

#include "common/result.hpp"
#include "daemon/settings.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace mtasts::daemon {

class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const = 0;
  virtual Result<void> bind() { return {}; }
  virtual Result<void> start() { return {}; }
  virtual void reload(const Settings& settings) { (void)settings; }
  virtual void drain(std::function<void()> done) { done(); }
  virtual void flush() {}
  // " key=value" fields for the "mtastsd started" log line (e.g. " listen=127.0.0.1:8461").
  virtual std::string startupFields() const { return {}; }
};

}  // namespace mtasts::daemon
