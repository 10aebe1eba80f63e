#include "policy/policy_events.hpp"

namespace mtasts::policy {

std::string_view lookupPathName(LookupPath path) noexcept {
  switch (path) {
    case LookupPath::CacheHit: return "cache-hit";
    case LookupPath::Resolved: return "resolved";
    case LookupPath::WaitTimeout: return "wait-timeout";
    case LookupPath::StoreError: return "store-error";
  }
  return "?";
}

std::string_view resolveReasonName(ResolveReason reason) noexcept {
  switch (reason) {
    case ResolveReason::First: return "first";
    case ResolveReason::Recheck: return "recheck";
    case ResolveReason::Refresh: return "refresh";
  }
  return "?";
}

std::string_view resolveOutcomeName(ResolveOutcome outcome) noexcept {
  switch (outcome) {
    case ResolveOutcome::Fetched: return "fetched";
    case ResolveOutcome::UnchangedId: return "unchanged-id";
    case ResolveOutcome::NoRecord: return "no-record";
    case ResolveOutcome::InvalidRecord: return "invalid-record";
    case ResolveOutcome::DnsFailed: return "dns-failed";
    case ResolveOutcome::FetchFailed: return "fetch-failed";
    case ResolveOutcome::RetryPending: return "retry-pending";
  }
  return "?";
}

}  // namespace mtasts::policy
