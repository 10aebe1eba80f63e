#include "daemon/tlsrpt_component.hpp"

#include "common/log.hpp"
#include "daemon/runtime.hpp"

#include <optional>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("tlsrpt");
  return logger;
}

UnixSeconds seconds(Ms ms) { return std::chrono::duration_cast<std::chrono::seconds>(ms).count(); }

}  // namespace

tlsrpt::VerdictRules verdictRules(const Settings& settings) {
  // dane = auto decides as in the policy engine (policyServiceOptions): without DNSSEC
  // support the checks never run, no DANE state is cached, and the rule has nothing to apply.
  return tlsrpt::VerdictRules{settings.policy.strict_testing, settings.dane.dane == DaneMode::Auto,
                              settings.dane.dane_without_sts};
}

tlsrpt::CollectionOptions collectionOptions(const TlsRptSettings& s, const tlsrpt::VerdictRules& rules) {
  tlsrpt::CollectionOptions o;
  o.limits.max_detail_rows = s.max_detail_rows;
  o.limits.max_domains_per_day = s.max_domains_per_day;
  o.limits.max_policies_per_domain = s.max_policies_per_domain;
  o.committer.interval = s.commit_interval;
  o.committer.keep_days = static_cast<int>(s.keep_days);
  if (!s.socket.empty()) {
    tlsrpt::DatagramCollectorOptions d;
    d.path = s.socket;
    d.permissions = net::SocketFilePermissions{s.socket_mode, s.socket_owner, s.socket_group};
    d.batch = s.datagram_batch;
    d.coalesce = std::chrono::duration_cast<std::chrono::microseconds>(s.read_delay);
    o.datagrams = std::move(d);
  }
  o.maillog = s.maillog;
  o.file.max_line = s.maillog_max_line;
  o.file.rotate_wait = seconds(s.maillog_rotate_wait);
  o.journal.max_message = s.maillog_max_line;
  o.maillog_collector.poll_interval_ms = static_cast<int>(s.maillog_poll_interval.count());
  o.maillog_collector.pump.batch_interval = seconds(s.maillog_batch_interval);
  o.maillog_collector.pump.quiescent_wait = seconds(s.maillog_quiescent_wait);
  o.maillog_collector.pump.sessions.relayhost = s.relayhost;
  o.verdict_rules = rules;
  return o;
}

TlsRptComponent::TlsRptComponent(Runtime& runtime, const TlsRptSettings& settings, const tlsrpt::VerdictRules& rules)
    : runtime_(runtime),
      settings_(settings),
      collection_(std::make_unique<tlsrpt::TlsRptCollection>(runtime.clock(),
                                                              collectionOptions(settings, rules))) {}

TlsRptComponent::~TlsRptComponent() {
  metrics_.reset();      // its callbacks read the collection
  collection_.reset();   // stops the threads, commits, closes the store before the env goes
}

Result<void> TlsRptComponent::bind() {
  // mtastsd-tlsrpt.socket: systemd made the socket at tlsrpt_socket; adopted, never re-made.
  std::optional<net::UniqueFd> inherited;
  if (!settings_.socket.empty()) inherited = runtime_.takeInheritedSocket(SocketKind::Datagram, settings_.socket);
  if (auto ok = collection_->bindSocket(inherited ? std::move(*inherited) : net::UniqueFd{}); !ok) {
    log()->error("TLS-RPT datagram socket not made, running without it (Postfix's TLSRPT datagrams are "
                 "lost until this is fixed and mtastsd restarted) path={} error={}",
                 escapeForLog(settings_.socket), escapeForLog(ok.error().detail, 400));
  }
  return {};
}

Result<void> TlsRptComponent::start() {
  if (auto ok = collection_->start(runtime_.env()); !ok) {
    log()->error("TLS-RPT collection not started, running without it error={}", escapeForLog(ok.error().detail, 400));
  } else {
    runtime_.policyEvents().add(*collection_);
  }
  if (!runtime_.metricsEnabled()) return {};  // nothing scrapes them
  auto metrics = tlsrpt::CollectionMetrics::create(runtime_.metrics(), *collection_);
  if (!metrics) return Unexpected{std::move(metrics).error()};  // a programming error: names are fixed
  metrics_ = std::move(*metrics);
  return {};
}

void TlsRptComponent::reload(const Settings& settings) {
  // Every tlsrpt_* key needs a restart; what "the policy in force" means follows the engine.
  collection_->setVerdictRules(verdictRules(settings));
}

void TlsRptComponent::drain(std::function<void()> done) {
  collection_->stopSources();
  done();
}

void TlsRptComponent::flush() {
  if (auto ok = collection_->flush(); !ok) {
    log()->error("final TLS-RPT commit failed error={}", escapeForLog(ok.error().detail, 400));
  }
}

std::string TlsRptComponent::startupFields() const {
  std::string out;
  if (collection_->datagramsRunning()) out += " tlsrpt_socket=" + settings_.socket;
  if (collection_->maillogConfigured() && collection_->started()) out += " tlsrpt_maillog=" + settings_.maillog;
  return out;
}

}  // namespace mtasts::daemon
