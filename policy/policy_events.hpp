// PolicyEvents: what the policy engine reports about its work, for observers it does not
// know (TLS-RPT counts policy fetch failures as failure sessions, metrics counts lookups and
// resolves). PolicyService calls the observer synchronously on the loop thread, after each
// lookup it answered and after each resolve it finished; observers must be cheap (the lookup
// event is on the hot path: no allocation there), must not throw, and must not call back
// into the service. Views in an event are valid during the call only. PolicyEventsFanOut
// hands every event to several observers in the order they were added.
#pragma once

#include "common/tlsrpt_result_type.hpp"
#include "postfix/policy_answer.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace mtasts::policy {

// How a lookup got its answer.
enum class LookupPath {
  CacheHit,     // a fresh cache entry, answered synchronously
  Resolved,     // waited for a resolve (started by it or already running) and got its result
  WaitTimeout,  // the resolve took longer than query_wait_timeout: on_resolve_timeout
  StoreError,   // the cache could not be read: TEMP
};
// What the cache held for the domain when the lookup came (a StoreError lookup: Missing).
enum class CacheState { Fresh, Missing, Expired };

// The failure of the last policy fetch for a domain, as reported (RFC 8460 result type).
struct FetchFailure {
  TlsRptResultType type = TlsRptResultType::StsPolicyFetchError;
  std::string_view reason;
};

struct LookupEvent {
  std::string_view domain;
  postfix::PolicyAnswer::Kind answer = postfix::PolicyAnswer::Kind::NoPolicy;
  LookupPath path = LookupPath::CacheHit;
  CacheState cache = CacheState::Fresh;
  // Set exactly when the answer is "no policy" BECAUSE the policy fetch failed (now, or
  // within fetch_retry_interval for the same TXT id) and nothing valid was cached: one
  // sts-* failure session in RFC 8460 terms. Never for no record, mode none or testing, a
  // failed TXT lookup, a wait timeout, or when a valid cached policy was applied.
  std::optional<FetchFailure> fetch_failure;
};

// Why a resolve ran.
enum class ResolveReason {
  First,    // nothing usable cached (missing or expired)
  Recheck,  // a cached policy's TXT id was due for a check (txt_check_interval)
  Refresh,  // a cached policy was due for a refetch (refresh_interval, or the sweep)
};

enum class ResolveOutcome {
  Fetched,        // a policy was fetched and stored (any mode)
  UnchangedId,    // the TXT id is the cached policy's: nothing fetched
  NoRecord,       // no (usable) _mta-sts record
  InvalidRecord,  // exactly one STS record, and it does not parse
  DnsFailed,      // the TXT lookup failed
  FetchFailed,    // the fetch or the policy failed: failure says how
  RetryPending,   // the same id failed less than fetch_retry_interval ago: not fetched again
};

struct ResolveEvent {
  std::string_view domain;
  ResolveReason reason = ResolveReason::First;
  ResolveOutcome outcome = ResolveOutcome::Fetched;
  std::optional<FetchFailure> failure;  // FetchFailed (this fetch) and RetryPending (the last one)
  std::string_view detail;              // the TXT problem for NoRecord/InvalidRecord/DnsFailed
  std::chrono::milliseconds duration{0};                   // the whole resolve
  std::optional<std::chrono::milliseconds> fetch_duration;  // the HTTPS fetch, when one ran
  bool kept_cached_policy = false;  // a valid cached policy stays applied after this resolve
};

std::string_view lookupPathName(LookupPath path) noexcept;            // "cache-hit", ...
std::string_view resolveReasonName(ResolveReason reason) noexcept;    // "first", ...
std::string_view resolveOutcomeName(ResolveOutcome outcome) noexcept;  // "fetched", ...

class PolicyEvents {
 public:
  virtual ~PolicyEvents() = default;
  virtual void lookupAnswered(const LookupEvent& event) noexcept = 0;
  virtual void resolveFinished(const ResolveEvent& event) noexcept = 0;
};

class PolicyEventsFanOut final : public PolicyEvents {
 public:
  void add(PolicyEvents& observer) { observers_.push_back(&observer); }
  void lookupAnswered(const LookupEvent& event) noexcept override {
    for (auto* o : observers_) o->lookupAnswered(event);
  }
  void resolveFinished(const ResolveEvent& event) noexcept override {
    for (auto* o : observers_) o->resolveFinished(event);
  }

 private:
  std::vector<PolicyEvents*> observers_;
};

}  // namespace mtasts::policy
