#include "daemon/policy_component.hpp"

#include "common/log.hpp"
#include "daemon/runtime.hpp"

#include <event2/event.h>
#include <malloc.h>

#include <cassert>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("main");
  return logger;
}

UnixSeconds seconds(Ms ms) { return std::chrono::duration_cast<std::chrono::seconds>(ms).count(); }

}  // namespace

policy::ResolverOptions resolverOptions(const PolicySettings& s) {
  policy::ResolverOptions o;
  o.fetch_timeout = s.fetch_timeout;
  o.max_policy_size = s.max_policy_size;
  return o;
}

policy::PolicyServiceOptions policyServiceOptions(const PolicySettings& s, const DaneSettings& dane,
                                                  bool dane_capable) {
  policy::PolicyServiceOptions o;
  o.dane = dane.dane == DaneMode::Auto && dane_capable;
  o.dane_without_sts = dane.dane_without_sts;
  o.strict_testing = s.strict_testing;
  o.query_wait_timeout = s.query_wait_timeout;
  o.on_resolve_timeout = s.on_resolve_timeout == OnResolveTimeout::Temp
                             ? policy::PolicyServiceOptions::OnTimeout::Temp
                             : policy::PolicyServiceOptions::OnTimeout::NotFound;
  o.txt_check_interval = seconds(s.txt_check_interval);
  o.refresh_interval = seconds(s.refresh_interval);
  o.max_idle = seconds(s.max_idle);
  o.negative_ttl = seconds(s.negative_ttl);
  o.failure_ttl = seconds(s.failure_ttl);
  o.fetch_retry_interval = seconds(s.fetch_retry_interval);
  o.usage_flush_interval = s.usage_flush_interval;
  o.sweep_interval = s.sweep_interval;
  return o;
}

PolicyComponent::PolicyComponent(Runtime& runtime, const PolicySettings& settings, const DaneSettings& dane)
    : runtime_(runtime),
      settings_(settings),
      dane_(dane),
      resolver_(runtime.dns(), runtime.https(), resolverOptions(settings)) {}

std::string PolicyComponent::startupFields() const {
  const bool on = dane_.dane == DaneMode::Auto && resolver_.daneCapable();
  return on ? (dane_.dnssec_trust_ad ? " dane=auto(trust-ad)" : " dane=auto(validate)") : " dane=off";
}

PolicyComponent::~PolicyComponent() = default;

Result<void> PolicyComponent::start() {
  if (runtime_.metricsEnabled()) {  // nothing scrapes them otherwise: no observer, no counting
    auto metrics = policy::PolicyMetrics::create(runtime_.metrics());
    if (!metrics) return Unexpected{std::move(metrics).error()};
    metrics_ = std::move(*metrics);
    runtime_.policyEvents().add(*metrics_);
  }
  auto store = cache::LmdbPolicyStore::attach(runtime_.env());
  if (!store) return fail(store.error().code, "policy store: " + store.error().detail);
  store_ = std::move(*store);
  service_ = std::make_unique<policy::PolicyService>(resolver_, *store_, runtime_.clock(), runtime_.scheduler(),
                                                     policyServiceOptions(settings_, dane_, resolver_.daneCapable()),
                                                     &runtime_.policyEvents());
  service_->startTimers();
  trim_timer_.reset(event_new(runtime_.base(), -1, EV_PERSIST, &PolicyComponent::trimTrampoline, this));
  const timeval every_second{1, 0};
  if (trim_timer_) event_add(trim_timer_.get(), &every_second);
  return {};
}

postfix::PolicyLookup& PolicyComponent::lookup() {
  assert(service_ && "the policy component starts before its users");
  return *service_;
}

// A burst of cold lookups (TLS handshakes, DNS answers) leaves the heap with free chunks
// between live ones; glibc gives back only the top of the heap on its own, so the daemon's
// RSS would stay at the burst's high-water mark. malloc_trim returns every free page; it
// runs only when resolves finished since the last trim and none is in flight.
void PolicyComponent::trimTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<PolicyComponent*>(arg);
  policy::PolicyService* service = self->service_.get();
  if (service && service->jobsInFlight() == 0 && service->jobsFinished() != self->trimmed_after_jobs_) {
    self->trimmed_after_jobs_ = service->jobsFinished();
    ::malloc_trim(0);
  }
}

void PolicyComponent::reload(const Settings& settings) {
  settings_ = settings.policy;
  dane_ = settings.dane;
  if (dane_.dane == DaneMode::Auto && !resolver_.daneCapable()) {
    log()->warn("dane = auto has no effect until a restart: the resolver gives no DNSSEC status "
                "(mtastsd started with dane = off, or its resolver is not trusted)");
  }
  resolver_.setOptions(resolverOptions(settings_));
  if (service_) service_->setOptions(policyServiceOptions(settings_, dane_, resolver_.daneCapable()));
}

void PolicyComponent::flush() {
  if (service_) service_->flushUsage();
}

}  // namespace mtasts::daemon
