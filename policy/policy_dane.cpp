// PolicyService, part 4: the DANE half of a resolve job (RFC 8461 2: DANE takes precedence
// over MTA-STS). The check (policy/dane_check.hpp) runs beside the MTA-STS steps; the entry
// is stored and the waiters answered once both halves ended, so an answer never comes from
// a half-known state. The DANE state lives in the entry with its own expiry (DNS TTLs).
#include "policy/policy_service.hpp"
#include "policy/policy_service_log.hpp"

#include <utility>

namespace mtasts::policy {

bool PolicyService::daneWanted(const cache::PolicyRecord& record) const {
  return options_.dane && (options_.dane_without_sts || record.kind == cache::EntryKind::Policy);
}

bool PolicyService::daneExpired(const cache::PolicyRecord& record, UnixSeconds now) const {
  return daneWanted(record) && now >= record.dane.expires_at;
}

// In the last quarter of its life a used DANE state is looked up again in the background,
// so that a busy domain never waits for it.
bool PolicyService::daneDue(const cache::PolicyRecord& record, UnixSeconds now) const {
  const cache::DaneInfo& dane = record.dane;
  return now >= dane.checked_at + (dane.expires_at - dane.checked_at) * 3 / 4;
}

void PolicyService::startDane(Job& job) {
  if (job.dane_running || job.dane_ran || !options_.dane) return;
  job.dane_running = true;
  job.dane = resolver_.checkDane(job.domain, [this, &job](DaneOutcome outcome) {
    onDaneChecked(job, std::move(outcome));
  });
}

// Where the MTA-STS rules end a job: the entry waits for a DANE check under way.
void PolicyService::complete(Job& job, cache::PolicyRecord record, ResolveEvent event) {
  job.held = std::move(record);
  job.held_event = std::move(event);
  job.sts_done = true;
  if (job.dane_running) return;
  attachDane(job, job.held);
  store(job.domain, job.held);
  finish(job, job.held, job.held_event);
}

// A job without a DANE check keeps the state the entry had: a new policy of the same
// domain does not change its DNS.
void PolicyService::attachDane(const Job& job, cache::PolicyRecord& record) const {
  if (job.dane_ran) {
    record.dane = job.dane_info;
  } else if (job.has_cached) {
    record.dane = job.cached.dane;
  }
}

void PolicyService::onDaneChecked(Job& job, DaneOutcome outcome) {
  const UnixSeconds now = clock_.now();
  job.dane_running = false;
  job.dane_ran = true;
  job.dane_info = cache::DaneInfo{outcome.state, now, now + outcome.ttl};
  const cache::DaneState before = job.has_cached ? job.cached.dane.state : cache::DaneState::Unchecked;
  // Bogus answers are worth a warning (someone's signatures are broken, or someone tampers);
  // the other states only when they change.
  if (outcome.state == cache::DaneState::Bogus) {
    log()->warn("DNSSEC bogus answer, DANE decides (dane-only) domain={} detail=\"{}\"", job.domain,
                escapeForLog(outcome.detail));
  } else if (outcome.state != before) {
    log()->info("DANE state domain={} dane={} ttl={} detail=\"{}\"", job.domain, daneStateName(outcome.state),
                outcome.ttl, escapeForLog(outcome.detail));
  } else {
    log()->debug("DANE state unchanged domain={} dane={} ttl={}", job.domain, daneStateName(outcome.state),
                 outcome.ttl);
  }
  if (!job.sts_done) return;  // complete() stores the entry when the MTA-STS half ends
  attachDane(job, job.held);
  store(job.domain, job.held);
  finish(job, job.held, job.held_event);
}

}  // namespace mtasts::policy
