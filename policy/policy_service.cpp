// PolicyService, part 1: lookups, resolve jobs and their waiters, answers, events. The
// rules of what a resolve stores are in policy_resolve.cpp, the background work in
// policy_upkeep.cpp (see policy_service.hpp).
#include "policy/policy_service.hpp"

#include "common/log.hpp"
#include "policy/policy_service_log.hpp"

#include <algorithm>
#include <utility>

namespace mtasts::policy {

using postfix::PolicyAnswer;

bool fetchFailedWithoutPolicy(const cache::PolicyRecord& record) {
  return record.kind == cache::EntryKind::NoPolicy && record.last_failure && !record.txt_id.empty() &&
         record.last_failure->txt_id == record.txt_id;
}

// What lookup() returns while a query waits: dropping it forgets the waiter (the job
// itself goes on). Holds only a weak reference, so it may outlive the job.
class PolicyService::WaiterHandle final : public PendingOperation {
 public:
  explicit WaiterHandle(std::weak_ptr<Waiter> waiter) : waiter_(std::move(waiter)) {}
  ~WaiterHandle() override { cancel(); }
  void cancel() noexcept override {
    if (auto w = waiter_.lock()) {
      w->active = false;
      w->done = nullptr;
    }
    waiter_.reset();
  }

 private:
  std::weak_ptr<Waiter> waiter_;
};

PolicyService::PolicyService(PolicyResolver& resolver, cache::PolicyStore& store, const Clock& clock,
                             Scheduler& scheduler, PolicyServiceOptions options, PolicyEvents* events)
    : resolver_(resolver), store_(store), clock_(clock), scheduler_(scheduler), options_(options), events_(events) {}

PolicyService::~PolicyService() = default;

bool PolicyService::validPolicy(const cache::PolicyRecord& record, UnixSeconds now) const {
  return record.kind == cache::EntryKind::Policy && now < record.expires_at;
}

// Where DANE applies it decides (RFC 8461 2), with the bare level: Postfix does DANE itself
// and reports it as DANE, so no MTA-STS attributes go with it.
PolicyAnswer PolicyService::decide(std::string_view domain, const cache::PolicyRecord& record) const {
  PolicyAnswer a;
  a.domain = domain;
  const bool sts = record.kind == cache::EntryKind::Policy && policyIsEnforced(record.policy, options_.strict_testing);
  a.kind = sts ? PolicyAnswer::Kind::Enforce : PolicyAnswer::Kind::NoPolicy;
  if (options_.dane) a.kind = daneVerdict(record.dane.state, sts, options_.dane_without_sts);
  if (a.kind == PolicyAnswer::Kind::Enforce) {
    a.mx = &record.policy.mx;
    a.policy_lines = &record.policy.lines;
  }
  return a;
}

void PolicyService::report(std::string_view domain, const PolicyAnswer& answer, LookupPath path, CacheState cache,
                           const cache::PolicyRecord* record) {
  if (events_ == nullptr) return;
  LookupEvent event;
  event.domain = domain;
  event.answer = answer.kind;
  event.path = path;
  event.cache = cache;
  if (record != nullptr && answer.kind == PolicyAnswer::Kind::NoPolicy && fetchFailedWithoutPolicy(*record)) {
    event.fetch_failure = FetchFailure{record->last_failure->type, record->last_failure->reason};
  }
  events_->lookupAnswered(event);
}

RequestHandle PolicyService::lookup(std::string_view domain, Callback done) {
  const UnixSeconds now = clock_.now();
  // The [6] review: the answer of a cache hit points into scratch_; a lookup() from inside
  // its callback must not overwrite it, so a nested one reads into a record of its own.
  std::unique_ptr<cache::PolicyRecord> nested;
  cache::PolicyRecord* record = &scratch_;
  if (scratch_in_use_) {
    nested = std::make_unique<cache::PolicyRecord>();
    record = nested.get();
  }
  auto found = store_.get(domain, *record);
  if (!found) {
    log()->error("policy store read failed domain={} error={}", domain, found.error().detail);
    const PolicyAnswer answer = PolicyAnswer::tempFail(domain, "mtastsd policy store unreadable");
    report(domain, answer, LookupPath::StoreError, CacheState::Missing, nullptr);
    done(answer);
    return nullptr;
  }
  const bool valid = *found && now < record->expires_at;
  // A valid entry whose DANE state expired is waited for like a missing one: DANE may now
  // decide otherwise (on_resolve_timeout answers from the entry as it is).
  const bool dane_expired = valid && daneExpired(*record, now);
  if (valid && !dane_expired) {
    const UnixSeconds resolution = std::min(options_.usage_resolution, options_.max_idle / 10);
    if (now - record->last_used >= resolution) noteUsage(domain, now);
    if (record->kind == cache::EntryKind::Policy) maybeStartBackgroundWork(domain, *record, now);
    if (jobs_.count(domain) == 0 && daneWanted(*record) && daneDue(*record, now)) {
      startJob(domain, record, false, false);  // DANE only, in the background
    }
    const PolicyAnswer answer = decide(domain, *record);
    report(domain, answer, LookupPath::CacheHit, CacheState::Fresh, record);
    struct InUse {  // scratch_ is in use for as long as the callback runs, also if it throws
      bool& flag;
      bool was;
      ~InUse() { flag = was; }
    } in_use{scratch_in_use_, scratch_in_use_};
    if (record == &scratch_) scratch_in_use_ = true;
    done(answer);
    return nullptr;
  }

  // Missing, expired, an expired negative entry, or an expired DANE state: resolve (once per
  // domain) and wait.
  auto it = jobs_.find(domain);
  Job& job = it != jobs_.end() ? *it->second : startJob(domain, *found ? record : nullptr, false, !dane_expired);
  auto waiter = std::make_shared<Waiter>();
  waiter->done = std::move(done);
  waiter->cache = *found ? CacheState::Expired : CacheState::Missing;
  waiter->stale_ok = dane_expired;
  std::weak_ptr<Waiter> weak = waiter;
  waiter->timer = scheduler_.schedule(options_.query_wait_timeout,
                                      [this, weak, d = job.domain] {
                                        if (auto w = weak.lock()) onWaitTimeout(w, d);
                                      });
  job.waiters.push_back(waiter);
  return std::make_unique<WaiterHandle>(weak);
}

void PolicyService::onWaitTimeout(const std::shared_ptr<Waiter>& waiter, const std::string& domain) {
  if (!waiter->active || !waiter->done) return;
  waiter->active = false;
  auto done = std::move(waiter->done);
  waiter->done = nullptr;
  if (waiter->stale_ok) {
    auto it = jobs_.find(domain);
    if (it != jobs_.end() && it->second->has_cached && validPolicy(it->second->cached, clock_.now())) {
      const cache::PolicyRecord& cached = it->second->cached;
      const PolicyAnswer answer = decide(domain, cached);
      log()->info("DANE check still running, answered from the cached entry domain={} dane={} answer={}", domain,
                  daneStateName(cached.dane.state), postfix::policyAnswerKindName(answer.kind));
      report(domain, answer, LookupPath::WaitTimeout, waiter->cache, &cached);
      return done(answer);
    }
  }
  PolicyAnswer d;
  d.domain = domain;
  if (options_.on_resolve_timeout == PolicyServiceOptions::OnTimeout::Temp)
    d = PolicyAnswer::tempFail(domain, "MTA-STS policy lookup still running");
  log()->info("resolve still running, answered without policy domain={} answer={}", domain,
              d.kind == PolicyAnswer::Kind::TempFail ? "TEMP" : "NOTFOUND");
  report(domain, d, LookupPath::WaitTimeout, waiter->cache, nullptr);
  done(d);
}

PolicyService::Job& PolicyService::startJob(std::string_view domain, const cache::PolicyRecord* cached,
                                            bool force_fetch, bool sts_step) {
  auto job = std::make_unique<Job>();
  job->domain = std::string(domain);
  if (cached) {
    job->has_cached = true;
    job->cached = *cached;
  }
  job->force_fetch = force_fetch;
  job->reason = force_fetch ? ResolveReason::Refresh
                : cached && validPolicy(*cached, clock_.now()) ? ResolveReason::Recheck
                                                                : ResolveReason::First;
  job->started = scheduler_.monotonicNow();
  job->sts_step = sts_step;
  Job& ref = *job;
  jobs_.emplace(ref.domain, std::move(job));
  if (!sts_step) {
    // The MTA-STS half is the valid entry itself; only DANE is looked up again.
    log()->debug("DANE check started domain={} dane={}", ref.domain, daneStateName(ref.cached.dane.state));
    ref.sts_done = true;
    ref.held = ref.cached;
    startDane(ref);
    return ref;
  }
  log()->debug("resolve started domain={} reason={}", ref.domain,
               force_fetch ? "refresh" : (cached ? "recheck" : "missing"));
  // DANE beside the TXT lookup when its outcome matters whatever the TXT says; otherwise
  // onDiscovered() starts it once a record is found.
  if (options_.dane && (options_.dane_without_sts || (cached && cached->kind == cache::EntryKind::Policy))) {
    startDane(ref);
  }
  ref.discovery = resolver_.discover(ref.domain, [this, &ref](DiscoveryOutcome outcome) {
    onDiscovered(ref, std::move(outcome));
  });
  return ref;
}

// The [6] review: a waiter's callback may call lookup() for the same domain. The job leaves
// jobs_ and its waiters leave the job before any callback runs, so such a lookup starts a
// job of its own (or hits the fresh entry) instead of joining, and being dropped by, this one.
void PolicyService::finish(Job& job, const cache::PolicyRecord& record, ResolveEvent& event) {
  job.finished = true;
  auto it = jobs_.find(job.domain);
  if (it != jobs_.end() && it->second.get() == &job) {
    graveyard_.push_back(std::move(it->second));  // alive until a later loop turn
    jobs_.erase(it);
    ++jobs_finished_;
    buryFinishedJobs();
  }
  std::vector<std::shared_ptr<Waiter>> waiters = std::move(job.waiters);
  job.waiters.clear();
  if (events_ != nullptr && job.sts_step) {  // a DANE-only refresh is no MTA-STS resolve
    const auto now = scheduler_.monotonicNow();
    event.duration = now - job.started;
    if (job.fetch_started.count() >= 0) event.fetch_duration = now - job.fetch_started;
    events_->resolveFinished(event);
  }
  const PolicyAnswer answer = decide(job.domain, record);
  for (auto& waiter : waiters) {
    waiter->timer.reset();
    if (!waiter->active || !waiter->done) continue;
    waiter->active = false;
    auto done = std::move(waiter->done);
    waiter->done = nullptr;
    report(job.domain, answer, LookupPath::Resolved, waiter->cache, &record);
    done(answer);
  }
}

void PolicyService::buryFinishedJobs() {
  if (graveyard_pending_) return;
  graveyard_pending_ = true;
  graveyard_timer_ = scheduler_.schedule(std::chrono::milliseconds(0), [this] {
    graveyard_pending_ = false;
    graveyard_.clear();
  });
}

void PolicyService::store(const std::string& domain, const cache::PolicyRecord& record) {
  auto written = store_.put(domain, record);
  if (!written) {
    // Waiters still get the fresh answer; the next query resolves again.
    log()->error("policy store write failed domain={} error={}", domain, written.error().detail);
  }
}

}  // namespace mtasts::policy
