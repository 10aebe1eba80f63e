// PolicyMetrics: the PolicyEvents observer that counts into the common/metrics Registry
// (served by [11]): lookups by answer and path, cache hits / misses / expired entries,
// lookups answered "no policy" because the fetch failed (by result type), resolves by
// reason and outcome, fetch failures by result type, and the fetch duration histogram.
// Every series is registered in create(); an event only indexes a fixed array of handles
// and adds (no lock, no allocation). Loop thread, like the service that reports to it.
#pragma once

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "policy/policy_events.hpp"

#include <array>
#include <memory>

namespace mtasts::policy {

class PolicyMetrics final : public PolicyEvents {
 public:
  static Result<std::unique_ptr<PolicyMetrics>> create(metrics::Registry& registry);

  void lookupAnswered(const LookupEvent& event) noexcept override;
  void resolveFinished(const ResolveEvent& event) noexcept override;

  // Bounds of the fetch duration histogram, in seconds (fetch_timeout is at most 5 min).
  static constexpr std::array<double, 10> FetchSecondsBounds{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

 private:
  PolicyMetrics() = default;
  static constexpr std::size_t Answers = 5;   // postfix::PolicyAnswer::Kind
  static constexpr std::size_t Paths = 4;     // LookupPath
  static constexpr std::size_t States = 3;    // CacheState
  static constexpr std::size_t Reasons = 3;   // ResolveReason
  static constexpr std::size_t Outcomes = 7;  // ResolveOutcome
  static constexpr std::size_t StsTypes = 3;  // sts-policy-fetch-error, -invalid, sts-webpki-invalid

  std::array<std::array<metrics::Counter, Paths>, Answers> lookups_;
  std::array<metrics::Counter, States> cache_;
  std::array<metrics::Counter, StsTypes> answered_fetch_failed_;
  std::array<std::array<metrics::Counter, Outcomes>, Reasons> resolves_;
  std::array<metrics::Counter, StsTypes> fetch_failures_;
  metrics::Histogram fetch_seconds_;
};

}  // namespace mtasts::policy
