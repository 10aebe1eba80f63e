// PolicyStack: the real policy source and what it needs, built from Settings: getdns DNS
// client, HTTPS client, event-loop scheduler, system clock, resolver and PolicyService
// over a PolicyStore the caller owns. Owns everything it builds; lives on the event loop
// it was given and must be destroyed before that loop. Construction errors are Results
// (bad dns_servers, unreadable ca_file). Once the service runs, heap memory freed after a
// burst of resolves is handed back to the system when no resolve is in flight.
#pragma once

#include "cache/policy_store.hpp"
#include "common/clock.hpp"
#include "daemon/config.hpp"
#include "policy/policy_resolver.hpp"
#include "policy/policy_service.hpp"
#include "net/dns_client.hpp"
#include "net/c_handles.hpp"
#include "net/event_scheduler.hpp"
#include "net/https_client.hpp"

#include <cstdint>
#include <memory>

struct event_base;

namespace mtasts::daemon {

using policy::PolicyResolver;
using policy::PolicyService;
using policy::PolicyServiceOptions;
using policy::ResolverOptions;

ResolverOptions resolverOptions(const Settings& settings);
PolicyServiceOptions policyServiceOptions(const Settings& settings);

struct PolicyStack {
  event_base* base = nullptr;  // the loop everything here runs on
  std::unique_ptr<net::DnsClient> dns;
  std::unique_ptr<net::HttpsClient> https;
  std::unique_ptr<net::EventScheduler> scheduler;
  SystemClock clock;
  std::unique_ptr<PolicyResolver> resolver;
  std::unique_ptr<PolicyService> service;  // null until startService(); never for --query

  // Builds the PolicyService over `store` (opened after any privilege drop).
  PolicyService& startService(cache::PolicyStore& store, const Settings& settings);
  void reload(const Settings& settings);

 private:
  static void trimTrampoline(int, short, void* arg) noexcept;
  net::EventPtr trim_timer_;  // persistent: checks every second, allocates nothing
  std::uint64_t trimmed_after_jobs_ = 0;
};

// The resolver and what it needs; with a store also the PolicyService (else see
// startService; --query needs the resolver only).
Result<std::unique_ptr<PolicyStack>> makePolicyStack(event_base* base, const Settings& settings,
                                                     cache::PolicyStore* store);

}  // namespace mtasts::daemon
