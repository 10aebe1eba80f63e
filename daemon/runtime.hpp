// Runtime: the composition root of the daemon. Owns the event_base, the SystemClock, the
// EventScheduler, the DnsClient and the HttpsClient (built from settings.dns / .https: they
// read resolv.conf and the CA file, so before any privilege drop), the metrics Registry, the
// policy-events fan-out that observers of the policy engine join, the process's one LmdbEnv
// (opened after the privilege drop), and the components (component.hpp), which it drives
// through one lifecycle: bind all, drop privileges, open the env, start all, run the loop.
// SIGHUP: re-read the configuration, then reload all; SIGTERM/SIGINT: drain all (together),
// then flush all, then stop the loop; a second one stops at once. Components are destroyed
// first (in reverse order), then the env, the clients and the loop. Loop thread only.
// Errors: create() returns a Result; run() returns the process exit code (sysexits.h).
#pragma once

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/scheduler.hpp"
#include "daemon/component.hpp"
#include "daemon/privileges.hpp"
#include "daemon/settings.hpp"
#include "policy/policy_events.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct event_base;

namespace mtasts {
namespace cache {
class LmdbEnv;
}
namespace net {
class DnsClient;
class HttpsClient;
}  // namespace net
}  // namespace mtasts

namespace mtasts::daemon {

// What run() needs besides the settings: how to read them again (SIGHUP), how to apply the
// log level (-v wins), and the privilege drop planned before the Runtime was built.
struct RunOptions {
  std::function<Result<Settings>(std::vector<std::string>& errors)> reload_settings;
  std::function<void(const Settings&)> apply_log_level;
  PrivilegePlan privileges;
  std::optional<UserIds> target;  // set when privileges.action == Switch
};

class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> create(const Settings& settings);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  event_base* base() const { return base_; }
  const Clock& clock() const { return clock_; }
  Scheduler& scheduler() { return *scheduler_; }
  net::DnsClient& dns() { return *dns_; }
  net::HttpsClient& https() { return *https_; }
  metrics::Registry& metrics() { return metrics_; }
  policy::PolicyEventsFanOut& policyEvents() { return policy_events_; }
  // The one LMDB environment of the process; null before run() opened it (use it in start()).
  const std::shared_ptr<cache::LmdbEnv>& env() const { return env_; }

  // Adds a component (components.cpp); it is bound, started, drained and flushed in the
  // order of adding. Returns it, for a component that another one needs.
  template <typename C>
  C& add(std::unique_ptr<C> component) {
    C& ref = *component;
    components_.push_back(std::move(component));
    return ref;
  }

  int run(Settings settings, RunOptions options);

 private:
  Runtime() = default;
  void stop(int signal);
  void reload();
  void flushAll();

  event_base* base_ = nullptr;  // owned; freed last (~Runtime)
  SystemClock clock_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<net::DnsClient> dns_;
  std::unique_ptr<net::HttpsClient> https_;
  metrics::Registry metrics_;
  policy::PolicyEventsFanOut policy_events_;
  std::shared_ptr<cache::LmdbEnv> env_;
  std::vector<std::unique_ptr<Component>> components_;
  Settings settings_;
  RunOptions options_;
  bool stopping_ = false;
  std::size_t drains_left_ = 0;
};

}  // namespace mtasts::daemon
