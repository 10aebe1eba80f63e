// PolicyService, part 2: what one resolve stores and answers (RFC 8461 3.3 and 10.2), from
// the TXT discovery to the fetch outcome, and the ResolveEvent that says how it ended.
#include "policy/policy_service.hpp"
#include "policy/policy_service_log.hpp"

#include <fmt/chrono.h>

#include <algorithm>
#include <ctime>
#include <utility>

namespace mtasts::policy {
namespace {

constexpr std::size_t MaxReasonBytes = 300;

std::string bounded(std::string text) {
  if (text.size() > MaxReasonBytes) text.resize(MaxReasonBytes);
  return text;
}

std::string isoTime(UnixSeconds t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(t)));
}

// A TXT lookup that gave no usable id: a headline for the log line, and what it answered
// (escaped, for a txt="..." field).
const char* txtHeadline(const DiscoveryOutcome& outcome) {
  return outcome.status == DiscoveryOutcome::Status::DnsFailed ? "TXT lookup failed"
                                                               : "no usable MTA-STS TXT record";
}

std::string txtProblem(const DiscoveryOutcome& outcome) {
  const bool invalid = outcome.status == DiscoveryOutcome::Status::InvalidRecord;
  return (invalid ? "invalid record: " : "") + escapeForLog(outcome.detail);
}

ResolveOutcome outcomeOf(DiscoveryOutcome::Status status) {
  switch (status) {
    case DiscoveryOutcome::Status::DnsFailed: return ResolveOutcome::DnsFailed;
    case DiscoveryOutcome::Status::InvalidRecord: return ResolveOutcome::InvalidRecord;
    case DiscoveryOutcome::Status::NoRecord:
    case DiscoveryOutcome::Status::Found: break;
  }
  return ResolveOutcome::NoRecord;
}

}  // namespace

ResolveEvent PolicyService::resolveEvent(const Job& job, ResolveOutcome outcome) const {
  ResolveEvent event;
  event.domain = job.domain;
  event.reason = job.reason;
  event.outcome = outcome;
  return event;
}

void PolicyService::onDiscovered(Job& job, DiscoveryOutcome outcome) {
  const UnixSeconds now = clock_.now();
  const bool have_valid = job.has_cached && validPolicy(job.cached, now);
  using Status = DiscoveryOutcome::Status;

  if (outcome.status != Status::Found) {
    if (have_valid) return keepOrRefreshWithoutTxt(job, outcome, now);
    ResolveEvent event = resolveEvent(job, outcomeOf(outcome.status));
    event.detail = outcome.detail;
    if (outcome.status == Status::DnsFailed) {
      log()->warn("TXT lookup failed domain={} detail={}", job.domain, escapeForLog(outcome.detail));
      return finishNoPolicy(job, cache::EntryKind::LookupFailed, options_.failure_ttl,
                            "TXT lookup failed: " + outcome.detail, event);
    }
    if (outcome.status == Status::InvalidRecord) {
      log()->warn("invalid MTA-STS TXT record domain={} reason={}", job.domain,
                  escapeForLog(outcome.detail));
    }
    return finishNoPolicy(job, cache::EntryKind::NoPolicy, options_.negative_ttl, outcome.detail, event);
  }

  // A record with an id: DANE may take precedence over the policy it leads to.
  if (options_.dane) startDane(job);
  if (have_valid && job.cached.txt_id == outcome.id && !job.force_fetch) {
    job.cached.txt_checked_at = now;  // checked, but the policy's life is NOT extended
    ResolveEvent event = resolveEvent(job, ResolveOutcome::UnchangedId);
    event.kept_cached_policy = true;
    return complete(job, job.cached, std::move(event));
  }
  const auto& failure = job.has_cached ? job.cached.last_failure : std::nullopt;
  if (failure && failure->txt_id == outcome.id &&
      now - failure->at < options_.fetch_retry_interval) {
    log()->debug("fetch of same id failed recently, not retrying yet domain={} id={}",
                 job.domain, outcome.id);
    ResolveEvent event = resolveEvent(job, ResolveOutcome::RetryPending);
    event.failure = FetchFailure{failure->type, failure->reason};
    if (have_valid) {
      job.cached.txt_checked_at = now;
      event.kept_cached_policy = true;
      return complete(job, job.cached, std::move(event));
    }
    return finishNoPolicy(job, cache::EntryKind::NoPolicy,
                          failure->at + options_.fetch_retry_interval - now,
                          "fetch of this id failed recently", event);
  }
  startFetch(job, outcome.id);
}

// RFC 8461 3.3 and 10.2: a valid cached policy stays applied until it expires, and is
// refreshed over HTTPS whatever the TXT lookup answered (failure, no record, several or
// an invalid one), so that an attacker who controls only DNS cannot let it lapse. A
// cached mode none is exempt: blocking its TXT downgrades nothing, and refetching it
// would keep a withdrawn "none" alive forever.
void PolicyService::keepOrRefreshWithoutTxt(Job& job, const DiscoveryOutcome& outcome,
                                            UnixSeconds now) {
  // A failed lookup is stamped too, so that the next one waits txt_check_interval
  // instead of every query starting a new TXT query.
  job.cached.txt_checked_at = now;
  const bool none = job.cached.policy.mode == sts::Mode::None;
  if (job.force_fetch && !none) {
    job.txt_headline = txtHeadline(outcome);
    job.txt_problem = txtProblem(outcome);
    return startFetch(job, job.cached.txt_id);  // no valid id came back: keep the cached one
  }
  if (!none) {
    warnRefresh(job.domain, now,
                fmt::format("{}, keeping cached policy domain={} txt=\"{}\" id={} valid_until={}",
                            txtHeadline(outcome), job.domain, txtProblem(outcome),
                            job.cached.txt_id, isoTime(job.cached.expires_at)));
  }
  ResolveEvent event = resolveEvent(job, outcomeOf(outcome.status));
  event.detail = outcome.detail;
  event.kept_cached_policy = true;
  complete(job, job.cached, std::move(event));
}

void PolicyService::startFetch(Job& job, const std::string& id) {
  job.fetch_started = scheduler_.monotonicNow();
  job.fetch = resolver_.fetch(job.domain, [this, &job, id](FetchOutcome fetched) {
    onFetched(job, id, std::move(fetched));
  });
}

void PolicyService::onFetched(Job& job, const std::string& id, FetchOutcome outcome) {
  const UnixSeconds now = clock_.now();
  const bool have_valid = job.has_cached && validPolicy(job.cached, now);
  const UnixSeconds last_used =
      std::max(job.has_cached ? job.cached.last_used : 0, job.waiters.empty() ? 0 : now);

  if (outcome.ok) {
    cache::PolicyRecord record;
    record.kind = cache::EntryKind::Policy;
    record.txt_id = id;
    record.policy = std::move(outcome.policy);
    record.fetched_at = now;
    // mode none is a published "no MTA-STS": kept no longer than a negative entry.
    const UnixSeconds life = record.policy.mode == sts::Mode::None
                                 ? std::min(record.policy.max_age, options_.negative_ttl)
                                 : record.policy.max_age;
    record.expires_at = now + life;
    record.txt_checked_at = now;
    record.last_used = last_used;
    log()->info("policy fetched domain={} id={} mode={} max_age={}", job.domain, id,
                sts::modeName(record.policy.mode), record.policy.max_age);
    if (!job.txt_problem.empty()) {
      warnRefresh(job.domain, now,
                  fmt::format("{}, cached policy refreshed over HTTPS anyway domain={} "
                              "txt=\"{}\" id={} valid_until={}",
                              job.txt_headline, job.domain, job.txt_problem, id,
                              isoTime(record.expires_at)));
    }
    ResolveEvent event = resolveEvent(job, ResolveOutcome::Fetched);
    return complete(job, std::move(record), std::move(event));
  }

  cache::FailureInfo failure{now, outcome.failure, bounded(outcome.detail), id};
  ResolveEvent event = resolveEvent(job, ResolveOutcome::FetchFailed);
  if (have_valid) {
    if (job.cached.policy.mode != sts::Mode::None) {
      const bool txt_failed = !job.txt_problem.empty();
      const std::string txt = txt_failed ? fmt::format(" txt=\"{}\"", job.txt_problem) : "";
      warnRefresh(job.domain, now,
                  fmt::format("policy refresh failed, keeping cached policy domain={} failed={}{} "
                              "fetch_type={} fetch_reason=\"{}\" id={} valid_until={}",
                              job.domain, txt_failed ? "txt,fetch" : "fetch", txt,
                              tlsRptResultTypeName(outcome.failure), escapeForLog(outcome.detail),
                              id, isoTime(job.cached.expires_at)));
    }
    job.cached.last_failure = failure;
    job.cached.txt_checked_at = now;
    event.failure = FetchFailure{job.cached.last_failure->type, job.cached.last_failure->reason};
    event.kept_cached_policy = true;
    return complete(job, job.cached, std::move(event));
  }
  log()->warn("policy fetch failed domain={} id={} type={} reason={}", job.domain, id,
              tlsRptResultTypeName(outcome.failure), escapeForLog(outcome.detail));
  cache::PolicyRecord record;
  record.kind = cache::EntryKind::NoPolicy;
  record.txt_id = id;  // with last_failure: "no policy because this id's fetch failed"
  record.txt_checked_at = now;
  // Nothing valid to apply: deliver without MTA-STS and wait before fetching this id again.
  record.expires_at = now + options_.fetch_retry_interval;
  record.last_used = last_used;
  record.last_failure = std::move(failure);
  event.failure = FetchFailure{record.last_failure->type, record.last_failure->reason};
  complete(job, std::move(record), std::move(event));
}

// A negative entry; it keeps the cached entry's last failure. While the same id waits for
// its retry (RetryPending), the entry keeps that id too: "no policy because the fetch of
// this id failed" (fetchFailedWithoutPolicy).
void PolicyService::finishNoPolicy(Job& job, cache::EntryKind kind, UnixSeconds ttl, std::string why,
                                   ResolveEvent& event) {
  const UnixSeconds now = clock_.now();
  cache::PolicyRecord record;
  record.kind = kind;
  record.txt_checked_at = now;
  record.expires_at = now + ttl;
  record.last_used = job.waiters.empty() ? (job.has_cached ? job.cached.last_used : 0) : now;
  if (job.has_cached) record.last_failure = job.cached.last_failure;
  if (event.outcome == ResolveOutcome::RetryPending && record.last_failure) record.txt_id = record.last_failure->txt_id;
  log()->debug("no policy domain={} reason={}", job.domain, escapeForLog(why));
  complete(job, std::move(record), std::move(event));
}

}  // namespace mtasts::policy
