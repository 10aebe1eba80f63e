#include "daemon/runtime.hpp"

#include "cache/lmdb_env.hpp"
#include "common/log.hpp"
#include "daemon/cli.hpp"
#include "daemon/config.hpp"
#include "daemon/service_notify.hpp"
#include "net/event_scheduler.hpp"
#include "net/getdns_dns_client.hpp"
#include "net/openssl_https_client.hpp"
#include "net/signals.hpp"

#include <event2/event.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("main");
  return logger;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::create(const Settings& settings) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->base_ = event_base_new();
  if (rt->base_ == nullptr) return fail(ErrorCode::Internal, "cannot create the event loop");
  rt->scheduler_ = std::make_unique<net::EventScheduler>(rt->base_);
  net::DnsOptions dns_options;
  dns_options.servers = settings.dns.dns_servers;
  dns_options.timeout = settings.dns.dns_timeout;
  if (settings.dane.dane == DaneMode::Auto) {  // DANE needs DNSSEC status on MX and TLSA answers
    dns_options.dnssec = settings.dane.dnssec_trust_ad ? net::DnssecMode::TrustAd : net::DnssecMode::Validate;
    dns_options.trust_anchor_file = settings.dane.dnssec_trust_anchor_file;
  }
  auto dns = net::GetdnsDnsClient::create(rt->base_, dns_options);
  if (!dns) return Unexpected{std::move(dns).error()};
  if (!(*dns)->dnssecProblem().empty()) {
    log()->warn("DANE checks off: the AD bit is trusted from a loopback resolver only reason=\"{}\" "
                "(run a validating resolver on loopback, or set dnssec_trust_ad = no)",
                escapeForLog((*dns)->dnssecProblem()));
  }
  rt->dns_ = std::move(*dns);
  net::HttpsClientOptions https_options;
  https_options.ca_file = settings.https.ca_file;
  auto https = net::OpensslHttpsClient::create(rt->base_, https_options);
  if (!https) return Unexpected{std::move(https).error()};
  rt->https_ = std::move(*https);
  rt->settings_ = settings;
  return rt;
}

Runtime::~Runtime() {
  // Components first, newest first: the server cancels its waits on the policy service
  // before the service goes; then the env (its last store is gone), the clients, the loop.
  while (!components_.empty()) components_.pop_back();
  ready_.reset();
  env_.reset();
  https_.reset();
  dns_.reset();
  scheduler_.reset();
  if (base_ != nullptr) event_base_free(base_);
}

std::optional<net::UniqueFd> Runtime::takeInheritedSocket(SocketKind kind, std::string_view address) {
  for (auto& socket : inherited_) {
    if (!socket.fd || !socketMatches(socket, kind, address)) continue;
    log()->info("listening on systemd socket name={} address={} fd={}", escapeForLog(socket.name), socket.address,
                socket.number);
    return std::move(socket.fd);
  }
  return std::nullopt;
}

// Binds every component, on the sockets systemd passed where they match; a passed socket
// nobody took means the socket units and the configuration disagree: better to stop (exit
// 78, which the unit does not restart on) than to serve on a socket Postfix does not use.
int Runtime::bindAll() {
  if (options_.inherited) {
    inherited_ = std::move(*options_.inherited);
    options_.inherited.reset();
  } else {
    auto taken = takeSystemdSockets();
    if (!taken) {
      log()->critical("{}", escapeForLog(taken.error().detail, 400));
      return ExitOsError;
    }
    inherited_ = std::move(*taken);
  }
  for (auto& component : components_) {
    if (auto ok = component->bind(); !ok) {
      log()->critical("cannot bind component={} error={}", component->name(), escapeForLog(ok.error().detail, 400));
      return ExitOsError;
    }
  }
  bool unmatched = false;
  for (const auto& socket : inherited_) {
    if (!socket.fd) continue;
    unmatched = true;
    const std::string kind = socket.kind ? std::string(socketKindName(*socket.kind)) : "not a listening socket";
    log()->critical("systemd passed a socket that no key names: change the socket unit or the configuration "
                    "(listen, metrics_listen, tlsrpt_socket) so that they agree name={} address={} fd={} kind={}",
                    escapeForLog(socket.name), socket.address, socket.number, kind);
  }
  if (unmatched) notifyStatus("stopped: systemd passed a socket that no key names (see the log)");
  return unmatched ? ExitConfig : 0;
}

int Runtime::run(Settings settings, RunOptions options) {
  settings_ = std::move(settings);
  options_ = std::move(options);
  if (!setLogTarget(settings_.process.log_target.empty() ? "auto" : settings_.process.log_target)) {
    log()->critical("unknown log_target value={}", escapeForLog(settings_.process.log_target));
    return ExitConfig;
  }
  if (int code = bindAll(); code != 0) return code;
  if (options_.privileges.action == PrivilegeAction::Switch) {
    if (auto ok = chownStateDir(settings_.store.state_dir, *options_.target); !ok) {
      log()->critical("cannot use state directory error={}", escapeForLog(ok.error().detail));
      return ExitCantCreate;
    }
    if (auto ok = switchToUser(*options_.target); !ok) {
      log()->critical("cannot drop privileges error={}", escapeForLog(ok.error().detail));
      return ExitOsError;
    }
    log()->info("dropped privileges user={} uid={} gid={}", options_.target->name, options_.target->uid,
                options_.target->gid);
  }
  // The process's one LMDB environment (a process opens a state_dir once); every store
  // attaches to it. The map may start above the default cap when lmdb_map_size says so.
  cache::LmdbOptions store_options;
  store_options.dir = settings_.store.state_dir;
  store_options.map_size = settings_.store.lmdb_map_size;
  store_options.max_map_size = std::max(store_options.max_map_size, settings_.store.lmdb_map_size);
  auto env = cache::LmdbEnv::open(store_options);
  if (!env) {
    log()->critical("cannot open the state store error={}", escapeForLog(env.error().detail, 400));
    return ExitCantCreate;
  }
  env_ = std::move(*env);
  if (metricsEnabled()) {
    if (auto ok = registerProcessMetrics(); !ok) {
      log()->critical("cannot register metrics error={}", escapeForLog(ok.error().detail, 400));
      return ExitCantCreate;
    }
  }
  for (auto& component : components_) {
    if (auto ok = component->start(); !ok) {
      log()->critical("cannot start component={} error={}", component->name(), escapeForLog(ok.error().detail, 400));
      return ExitCantCreate;
    }
  }
  net::SignalHandlers signals(base_, [this](int signal) { stop(signal); }, [this](int) { reload(); });
  std::string fields;
  for (const auto& component : components_) fields += component->startupFields();
  log()->info("mtastsd started version={}{} state_dir={}", MTASTS_VERSION, fields, settings_.store.state_dir);
  // From the loop's first turn: the store is open and every listener is on the loop.
  ready_ = scheduler_->schedule(std::chrono::milliseconds(0), [this] { notifyReady(statusLine()); });
  if (event_base_dispatch(base_) < 0) {
    log()->critical("event loop failed");
    return ExitOsError;
  }
  flushAll();  // also after a second stop signal cut the drain short
  log()->info("mtastsd stopped");
  return 0;
}

// Every component drains at once; when the last one is done (the count starts one higher,
// so a drain that finishes at once cannot end it early), all flush and the loop stops.
void Runtime::stop(int signal) {
  if (stopping_) {
    log()->warn("second stop signal, exiting now signal={}", signal);
    event_base_loopbreak(base_);
    return;
  }
  stopping_ = true;
  log()->info("stopping signal={}", signal);
  notifyStopping("stopping: finishing requests in flight");
  drains_left_ = components_.size() + 1;
  auto one_done = [this] {
    if (--drains_left_ > 0) return;
    flushAll();
    event_base_loopexit(base_, nullptr);
  };
  for (auto& component : components_) {
    auto called = std::make_shared<bool>(false);
    component->drain([one_done, called] {
      if (std::exchange(*called, true)) return;  // a component that reports twice counts once
      one_done();
    });
  }
  one_done();
}

void Runtime::flushAll() {
  for (auto& component : components_) component->flush();
}

void Runtime::reload() {
  if (stopping_) return;  // a reload while draining would re-announce READY=1
  notifyReloading("reloading the configuration");
  std::vector<std::string> errors;
  auto fresh = options_.reload_settings(errors);
  if (!fresh) {
    for (const auto& e : errors) log()->error("reload: {}", escapeForLog(e, 400));
    log()->warn("reload failed, keeping the running settings errors={}", errors.size());
    reloads_failed_.inc();
    notifyReady("reload failed, running on the previous settings (see the log); " + statusLine());
    return;
  }
  std::vector<std::string> applied;
  std::vector<std::string> ignored;
  settings_ = mergeReloadable(settings_, *fresh, applied, ignored);
  options_.apply_log_level(settings_);
  for (auto& component : components_) component->reload(settings_);
  log()->info("configuration reloaded changed={}", applied.empty() ? "none" : joined(applied));
  for (const auto& key : ignored) log()->warn("changed key needs a restart, keeping running value key={}", key);
  reloads_ok_.inc();
  notifyReady(statusLine());
}

std::string Runtime::statusLine() const {
  std::string fields;
  for (const auto& component : components_) fields += component->startupFields();
  return "serving" + fields;
}

// The process itself: what runs (build info) and since when, and the reloads.
Result<void> Runtime::registerProcessMetrics() {
  auto info = metrics_.gauge("mtastsd_build_info", "Always 1; the version of the running mtastsd in its label",
                             {{"version", MTASTS_VERSION}});
  if (!info) return Unexpected{std::move(info).error()};
  info->set(1);
  auto started = metrics_.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch");
  if (!started) return Unexpected{std::move(started).error()};
  started->set(clock_.now());
  constexpr const char* Reloads = "mtastsd_config_reloads_total";
  constexpr const char* ReloadsHelp = "Configuration reloads (SIGHUP), by result: ok, or failed (running settings kept)";
  auto ok = metrics_.counter(Reloads, ReloadsHelp, {{"result", "ok"}});
  if (!ok) return Unexpected{std::move(ok).error()};
  auto failed = metrics_.counter(Reloads, ReloadsHelp, {{"result", "failed"}});
  if (!failed) return Unexpected{std::move(failed).error()};
  reloads_ok_ = *ok;
  reloads_failed_ = *failed;
  return {};
}

}  // namespace mtasts::daemon
