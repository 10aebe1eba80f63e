#include "daemon/policy_stack.hpp"

#include "net/openssl_https_client.hpp"
#include "net/getdns_dns_client.hpp"

#include <event2/event.h>
#include <malloc.h>

namespace mtasts::daemon {
namespace {

UnixSeconds seconds(Ms ms) {
  return std::chrono::duration_cast<std::chrono::seconds>(ms).count();
}

}  // namespace

ResolverOptions resolverOptions(const Settings& s) {
  ResolverOptions o;
  o.fetch_timeout = s.policy.fetch_timeout;
  o.max_policy_size = s.policy.max_policy_size;
  return o;
}

PolicyServiceOptions policyServiceOptions(const Settings& s) {
  PolicyServiceOptions o;
  o.strict_testing = s.policy.strict_testing;
  o.query_wait_timeout = s.policy.query_wait_timeout;
  o.on_resolve_timeout = s.policy.on_resolve_timeout == OnResolveTimeout::Temp
                             ? PolicyServiceOptions::OnTimeout::Temp
                             : PolicyServiceOptions::OnTimeout::NotFound;
  o.txt_check_interval = seconds(s.policy.txt_check_interval);
  o.refresh_interval = seconds(s.policy.refresh_interval);
  o.max_idle = seconds(s.policy.max_idle);
  o.negative_ttl = seconds(s.policy.negative_ttl);
  o.failure_ttl = seconds(s.policy.failure_ttl);
  o.fetch_retry_interval = seconds(s.policy.fetch_retry_interval);
  o.usage_flush_interval = s.policy.usage_flush_interval;
  o.sweep_interval = s.policy.sweep_interval;
  return o;
}

PolicyService& PolicyStack::startService(cache::PolicyStore& store, const Settings& settings) {
  service = std::make_unique<PolicyService>(*resolver, store, clock, *scheduler, policyServiceOptions(settings));
  if (!trim_timer_) {
    trim_timer_.reset(event_new(base, -1, EV_PERSIST, &PolicyStack::trimTrampoline, this));
    const timeval every_second{1, 0};
    if (trim_timer_) event_add(trim_timer_.get(), &every_second);
  }
  return *service;
}

// A burst of cold lookups (TLS handshakes, DNS answers) leaves the heap with free chunks
// between live ones; glibc gives back only the top of the heap on its own, so the daemon's
// RSS would stay at the burst's high-water mark. malloc_trim returns every free page; it
// runs only when resolves finished since the last trim and none is in flight.
void PolicyStack::trimTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<PolicyStack*>(arg);
  PolicyService* service = self->service.get();
  if (service && service->jobsInFlight() == 0 && service->jobsFinished() != self->trimmed_after_jobs_) {
    self->trimmed_after_jobs_ = service->jobsFinished();
    ::malloc_trim(0);
  }
}

void PolicyStack::reload(const Settings& settings) {
  resolver->setOptions(resolverOptions(settings));
  if (service) service->setOptions(policyServiceOptions(settings));
}

Result<std::unique_ptr<PolicyStack>> makePolicyStack(event_base* base, const Settings& settings,
                                                     cache::PolicyStore* store) {
  auto stack = std::make_unique<PolicyStack>();
  stack->base = base;
  net::DnsOptions dns_options;
  dns_options.servers = settings.dns.dns_servers;
  dns_options.timeout = settings.dns.dns_timeout;
  auto dns = net::GetdnsDnsClient::create(base, dns_options);
  if (!dns) return Unexpected{std::move(dns).error()};
  stack->dns = std::move(*dns);

  net::HttpsClientOptions https_options;
  https_options.ca_file = settings.https.ca_file;
  auto https = net::OpensslHttpsClient::create(base, https_options);
  if (!https) return Unexpected{std::move(https).error()};
  stack->https = std::move(*https);

  stack->scheduler = std::make_unique<net::EventScheduler>(base);
  stack->resolver = std::make_unique<PolicyResolver>(*stack->dns, *stack->https, resolverOptions(settings));
  if (store) stack->startService(*store, settings);
  return stack;
}

}  // namespace mtasts::daemon
