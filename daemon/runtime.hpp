// Runtime: the composition root of the daemon. Owns the event_base, the SystemClock, the
// EventScheduler, the DnsClient and the HttpsClient (built from settings.dns / .https: they
// read resolv.conf and the CA file, so before any privilege drop), the metrics Registry, the
// policy-events fan-out that observers of the policy engine join, the process's one LmdbEnv
// (opened after the privilege drop), and the components (component.hpp), which it drives
// through one lifecycle: bind all, drop privileges, open the env, start all, run the loop.
// SIGHUP: re-read the configuration, then reload all; SIGTERM/SIGINT: drain all (together),
// then flush all, then stop the loop; a second one stops at once. Components are destroyed
// first (in reverse order), then the env, the clients and the loop. Loop thread only.
// Under systemd it takes the sockets systemd passed (socket activation: components ask for
// them in bind(), see takeInheritedSocket) and reports READY=1 / RELOADING=1 / STOPPING=1
// (service_notify.hpp). Errors: create() returns a Result; run() returns the process exit
// code (sysexits.h).
//
// Metrics: a component registers its series in start() on metrics() (common/metrics.hpp),
// only when metricsEnabled() (metrics_listen set; otherwise nothing scrapes them, so nothing
// is counted), and keeps the handles: a Counter/Gauge/Histogram is one relaxed atomic add,
// safe from its own threads; a value it already knows (a queue length, reports pending) is
// a gaugeCallback() it keeps as a member (read on the loop at scrape time, under the
// registry's lock: cheap, no registry calls, no blocking). Names: mtastsd_<component>_...,
// counters end in _total, units in the name (_seconds, _bytes), label values from a closed
// set (never a domain name). E.g. for TLS-RPT ([8]/[9]):
//   mtastsd_tlsrpt_sessions_total{source="datagram|own-failure|maillog"},
//   mtastsd_tlsrpt_datagrams_rejected_total{reason=...}, mtastsd_tlsrpt_maillog_overlong_total,
// and for the report sender ([10]): mtastsd_tlsrpt_reports_delivered_total{scheme=...},
//   mtastsd_tlsrpt_report_attempts_failed_total{scheme=...}, mtastsd_tlsrpt_report_destinations_pending.
// Store entries and map use are registered by the metrics component for every store open
// at the end of start() (it starts last), so a new store needs nothing.
#pragma once

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/scheduler.hpp"
#include "daemon/component.hpp"
#include "daemon/inherited_sockets.hpp"
#include "daemon/privileges.hpp"
#include "daemon/settings.hpp"
#include "policy/policy_events.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  // The sockets systemd passed; when not set, run() takes them from the environment
  // (takeSystemdSockets()). Tests set it.
  std::optional<std::vector<InheritedSocket>> inherited;
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
  // Whether metrics are served (metrics_listen set): register and count only then.
  bool metricsEnabled() const { return !settings_.metrics.metrics_listen.empty(); }

  // Socket activation. In bind(), a component asks for the socket systemd passed for one of
  // its addresses: a `listen` entry ("inet:127.0.0.1:8461", "unix:/path") as Stream, a unix
  // datagram socket path (`tlsrpt_socket`) as Datagram (inherited_sockets.hpp matches
  // them). The socket is the caller's from then on, already bound (and listening): use it
  // as it is, never unlink, chmod or chown its path (systemd made it and removes it);
  // nullopt = bind your own. Logs "listening on systemd socket name=... address=... fd=..."
  // once per socket taken. A socket no component took by the end of bind() stops the
  // daemon with exit 78 (the unit and the configuration disagree).
  std::optional<net::UniqueFd> takeInheritedSocket(SocketKind kind, std::string_view address);

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
  int bindAll();  // 0, or the exit code
  void stop(int signal);
  void reload();
  void flushAll();
  std::string statusLine() const;
  Result<void> registerProcessMetrics();

  event_base* base_ = nullptr;  // owned; freed last (~Runtime)
  SystemClock clock_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<net::DnsClient> dns_;
  std::unique_ptr<net::HttpsClient> https_;
  metrics::Registry metrics_;
  policy::PolicyEventsFanOut policy_events_;
  std::shared_ptr<cache::LmdbEnv> env_;
  std::vector<std::unique_ptr<Component>> components_;
  std::vector<InheritedSocket> inherited_;
  Settings settings_;
  RunOptions options_;
  bool stopping_ = false;
  std::size_t drains_left_ = 0;
  RequestHandle ready_;  // READY=1 from the first loop turn
  metrics::Counter reloads_ok_;
  metrics::Counter reloads_failed_;
};

}  // namespace mtasts::daemon
