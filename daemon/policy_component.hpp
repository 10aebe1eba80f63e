// PolicyComponent: the MTA-STS engine in the running daemon: the resolver over the Runtime's
// DNS and HTTPS clients, the PolicyService over the policy store in the Runtime's LMDB env
// (attached in start(), after the privilege drop), the metrics observer, and the heap trim
// timer. Reads settings.policy and settings.dane (DANE before MTA-STS; DANE checks run only
// when the Runtime's DNS client validates). Loop thread. Its lookup() is what the server asks.
#pragma once

#include "cache/lmdb_policy_store.hpp"
#include "daemon/component.hpp"
#include "net/c_handles.hpp"
#include "policy/policy_metrics.hpp"
#include "policy/policy_resolver.hpp"
#include "policy/policy_service.hpp"

#include <cstdint>
#include <memory>

namespace mtasts::daemon {

class Runtime;

// The policy section as the policy engine's option structs.
policy::ResolverOptions resolverOptions(const PolicySettings& settings);
// dane_capable: the DNS client can tell DNSSEC status (else DANE checks stay off).
policy::PolicyServiceOptions policyServiceOptions(const PolicySettings& settings, const DaneSettings& dane = {},
                                                  bool dane_capable = false);

class PolicyComponent final : public Component {
 public:
  PolicyComponent(Runtime& runtime, const PolicySettings& settings, const DaneSettings& dane);
  ~PolicyComponent() override;

  std::string_view name() const override { return "policy"; }
  Result<void> start() override;
  std::string startupFields() const override;
  void reload(const Settings& settings) override;
  void flush() override;

  // The started service (start() ran: components after this one may use it in theirs).
  postfix::PolicyLookup& lookup();

 private:
  static void trimTrampoline(int, short, void* arg) noexcept;

  Runtime& runtime_;
  PolicySettings settings_;
  DaneSettings dane_;
  policy::PolicyResolver resolver_;
  std::unique_ptr<policy::PolicyMetrics> metrics_;
  std::unique_ptr<cache::LmdbPolicyStore> store_;
  std::unique_ptr<policy::PolicyService> service_;
  net::EventPtr trim_timer_;  // persistent: checks every second, allocates nothing
  std::uint64_t trimmed_after_jobs_ = 0;
};

}  // namespace mtasts::daemon
