#include "policy/policy_metrics.hpp"

#include <string>

namespace mtasts::policy {
namespace {

using postfix::PolicyAnswer;

constexpr std::array<PolicyAnswer::Kind, 5> AllAnswers{PolicyAnswer::Kind::Enforce, PolicyAnswer::Kind::DaneOnly,
                                                       PolicyAnswer::Kind::NoPolicy, PolicyAnswer::Kind::TempFail,
                                                       PolicyAnswer::Kind::Dane};
constexpr std::array<LookupPath, 4> AllPaths{LookupPath::CacheHit, LookupPath::Resolved, LookupPath::WaitTimeout,
                                             LookupPath::StoreError};
constexpr std::array<CacheState, 3> AllStates{CacheState::Fresh, CacheState::Missing, CacheState::Expired};
constexpr std::array<ResolveReason, 3> AllReasons{ResolveReason::First, ResolveReason::Recheck,
                                                  ResolveReason::Refresh};
constexpr std::array<ResolveOutcome, 7> AllOutcomes{
    ResolveOutcome::Fetched,   ResolveOutcome::UnchangedId, ResolveOutcome::NoRecord,    ResolveOutcome::InvalidRecord,
    ResolveOutcome::DnsFailed, ResolveOutcome::FetchFailed, ResolveOutcome::RetryPending};
// What MTA-STS fetches fail with; the collector reports nothing else.
constexpr std::array<TlsRptResultType, 3> StsFailureTypes{
    TlsRptResultType::StsPolicyFetchError, TlsRptResultType::StsPolicyInvalid, TlsRptResultType::StsWebpkiInvalid};

// The arrays index by enum value: each must list its enum in declaration order.
template <typename E, std::size_t N>
constexpr bool inOrder(const std::array<E, N>& values) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(values[i]) != i) return false;
  }
  return true;
}
static_assert(inOrder(AllAnswers) && inOrder(AllPaths) && inOrder(AllStates) && inOrder(AllReasons) &&
              inOrder(AllOutcomes));

std::size_t stsIndex(TlsRptResultType type) {
  for (std::size_t i = 0; i < StsFailureTypes.size(); ++i) {
    if (StsFailureTypes[i] == type) return i;
  }
  return 0;  // not produced by policy/; counted as a fetch error rather than dropped
}

// "hit" / "miss" / "expired" read better on a dashboard than the event's state names.
std::string cacheLabel(CacheState state) {
  switch (state) {
    case CacheState::Fresh: return "hit";
    case CacheState::Missing: return "miss";
    case CacheState::Expired: return "expired";
  }
  return "?";
}

}  // namespace

Result<std::unique_ptr<PolicyMetrics>> PolicyMetrics::create(metrics::Registry& registry) {
  std::unique_ptr<PolicyMetrics> m(new PolicyMetrics());
  for (std::size_t a = 0; a < Answers; ++a) {
    for (std::size_t p = 0; p < Paths; ++p) {
      auto c = registry.counter("mtastsd_policy_lookups_total", "Socketmap policy lookups answered, by answer and path",
                                {{"answer", std::string(postfix::policyAnswerKindName(AllAnswers[a]))},
                                 {"path", std::string(lookupPathName(AllPaths[p]))}});
      if (!c) return Unexpected{std::move(c).error()};
      m->lookups_[a][p] = *c;
    }
  }
  for (std::size_t s = 0; s < States; ++s) {
    auto c = registry.counter("mtastsd_policy_cache_lookups_total",
                              "Policy lookups by what the cache held: a fresh entry, none, or an expired one",
                              {{"result", cacheLabel(AllStates[s])}});
    if (!c) return Unexpected{std::move(c).error()};
    m->cache_[s] = *c;
  }
  for (std::size_t t = 0; t < StsTypes; ++t) {
    const std::string type(tlsRptResultTypeName(StsFailureTypes[t]));
    auto answered = registry.counter("mtastsd_policy_lookups_fetch_failed_total",
                                     "Lookups answered without policy because the policy fetch failed and nothing "
                                     "valid was cached (RFC 8460 failure sessions), by result type",
                                     {{"result_type", type}});
    if (!answered) return Unexpected{std::move(answered).error()};
    m->answered_fetch_failed_[t] = *answered;
    auto failed = registry.counter("mtastsd_policy_fetch_failures_total",
                                   "Policy fetches that failed, by RFC 8460 result type", {{"result_type", type}});
    if (!failed) return Unexpected{std::move(failed).error()};
    m->fetch_failures_[t] = *failed;
  }
  for (std::size_t r = 0; r < Reasons; ++r) {
    for (std::size_t o = 0; o < Outcomes; ++o) {
      auto c = registry.counter("mtastsd_policy_resolves_total", "Policy resolves finished, by reason and outcome",
                                {{"reason", std::string(resolveReasonName(AllReasons[r]))},
                                 {"outcome", std::string(resolveOutcomeName(AllOutcomes[o]))}});
      if (!c) return Unexpected{std::move(c).error()};
      m->resolves_[r][o] = *c;
    }
  }
  auto h = registry.histogram("mtastsd_policy_fetch_duration_seconds",
                              "Duration of policy fetches (address lookup, TLS, HTTP), successful or not",
                              FetchSecondsBounds);
  if (!h) return Unexpected{std::move(h).error()};
  m->fetch_seconds_ = *h;
  return m;
}

void PolicyMetrics::lookupAnswered(const LookupEvent& event) noexcept {
  lookups_[static_cast<std::size_t>(event.answer)][static_cast<std::size_t>(event.path)].inc();
  if (event.path != LookupPath::StoreError) cache_[static_cast<std::size_t>(event.cache)].inc();
  if (event.fetch_failure) answered_fetch_failed_[stsIndex(event.fetch_failure->type)].inc();
}

void PolicyMetrics::resolveFinished(const ResolveEvent& event) noexcept {
  resolves_[static_cast<std::size_t>(event.reason)][static_cast<std::size_t>(event.outcome)].inc();
  if (event.outcome == ResolveOutcome::FetchFailed && event.failure) fetch_failures_[stsIndex(event.failure->type)].inc();
  if (event.fetch_duration) {
    fetch_seconds_.observe(std::chrono::duration<double>(*event.fetch_duration).count());
  }
}

}  // namespace mtasts::policy
