#include "daemon/policy_service.hpp"

#include "common/log.hpp"

#include <fmt/chrono.h>

#include <algorithm>
#include <ctime>
#include <utility>

namespace mtasts::daemon {
namespace {

constexpr std::size_t MaxReasonBytes = 300;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = moduleLogger("policy");
  return logger;
}

// A stable per-domain number in [0, 1000): spreads refreshes of policies fetched at the
// same moment over +-10% of refresh_interval, and does so the same way after a restart.
unsigned jitterPermille(std::string_view domain) {
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (char c : domain) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;  // bytes, unsigned
  return h % 1000u;
}

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

}  // namespace

struct PolicyService::Waiter {
  Callback done;
  RequestHandle timer;
  bool active = true;
};

struct PolicyService::Job {
  std::string domain;
  bool has_cached = false;
  cache::PolicyRecord cached;  // the entry as it was when the job started
  bool force_fetch = false;    // proactive refresh: fetch even if the id is unchanged
  // A refresh fetching without a usable TXT id: what the TXT lookup said, for the log.
  const char* txt_headline = "";
  std::string txt_problem;
  bool finished = false;
  RequestHandle discovery;
  RequestHandle fetch;
  std::vector<std::shared_ptr<Waiter>> waiters;
};

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

PolicyService::PolicyService(PolicyResolver& resolver, cache::PolicyStore& store,
                             const Clock& clock, Scheduler& scheduler, PolicyServiceOptions options)
    : resolver_(resolver), store_(store), clock_(clock), scheduler_(scheduler), options_(options) {}

PolicyService::~PolicyService() = default;

bool PolicyService::validPolicy(const cache::PolicyRecord& record, UnixSeconds now) const {
  return record.kind == cache::EntryKind::Policy && now < record.expires_at;
}

postfix::PolicyAnswer PolicyService::decide(std::string_view domain, const cache::PolicyRecord& record) const {
  postfix::PolicyAnswer a;
  a.domain = domain;
  if (record.kind != cache::EntryKind::Policy) return a;
  if (policyIsEnforced(record.policy, options_.strict_testing)) {
    a.kind = postfix::PolicyAnswer::Kind::Enforce;
    a.mx = &record.policy.mx;
    a.policy_lines = &record.policy.lines;
  }
  return a;
}

RequestHandle PolicyService::lookup(std::string_view domain, Callback done) {
  const UnixSeconds now = clock_.now();
  auto found = store_.get(domain, scratch_);
  if (!found) {
    log()->error("policy store read failed domain={} error={}", domain, found.error().detail);
    done(postfix::PolicyAnswer::tempFail(domain, "mtastsd policy store unreadable"));
    return nullptr;
  }
  if (*found && now < scratch_.expires_at) {
    const UnixSeconds resolution = std::min(options_.usage_resolution, options_.max_idle / 10);
    if (now - scratch_.last_used >= resolution) noteUsage(domain, now);
    if (scratch_.kind == cache::EntryKind::Policy) maybeStartBackgroundWork(domain, scratch_, now);
    done(decide(domain, scratch_));
    return nullptr;
  }

  // Missing, expired, or an expired negative entry: resolve (once per domain) and wait.
  auto it = jobs_.find(domain);
  Job& job = it != jobs_.end() ? *it->second : startJob(domain, *found ? &scratch_ : nullptr, false);
  auto waiter = std::make_shared<Waiter>();
  waiter->done = std::move(done);
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
  postfix::PolicyAnswer d;
  d.domain = domain;
  if (options_.on_resolve_timeout == PolicyServiceOptions::OnTimeout::Temp)
    d = postfix::PolicyAnswer::tempFail(domain, "MTA-STS policy lookup still running");
  log()->info("resolve still running, answered without policy domain={} answer={}", domain,
              d.kind == postfix::PolicyAnswer::Kind::TempFail ? "TEMP" : "NOTFOUND");
  done(d);
}

PolicyService::Job& PolicyService::startJob(std::string_view domain,
                                            const cache::PolicyRecord* cached, bool force_fetch) {
  auto job = std::make_unique<Job>();
  job->domain = std::string(domain);
  if (cached) {
    job->has_cached = true;
    job->cached = *cached;
  }
  job->force_fetch = force_fetch;
  Job& ref = *job;
  jobs_.emplace(ref.domain, std::move(job));
  log()->debug("resolve started domain={} reason={}", ref.domain,
               force_fetch ? "refresh" : (cached ? "recheck" : "missing"));
  ref.discovery = resolver_.discover(ref.domain, [this, &ref](DiscoveryOutcome outcome) {
    onDiscovered(ref, std::move(outcome));
  });
  return ref;
}

UnixSeconds PolicyService::refreshAfter(std::string_view domain,
                                        const cache::PolicyRecord& record) const {
  const UnixSeconds jittered =
      options_.refresh_interval * (900 + jitterPermille(domain) / 5) / 1000;
  const UnixSeconds lifetime = record.expires_at - record.fetched_at;
  // Short-lived policies are refreshed at three quarters of their life instead.
  return std::max<UnixSeconds>(1, std::min(jittered, lifetime * 3 / 4));
}

void PolicyService::maybeStartBackgroundWork(std::string_view domain,
                                             const cache::PolicyRecord& record, UnixSeconds now) {
  if (jobs_.count(domain) != 0) return;
  const bool failed_recently = record.last_failure &&
                               now - record.last_failure->at < options_.fetch_retry_interval;
  if (!failed_recently && now >= record.fetched_at + refreshAfter(domain, record)) {
    startJob(domain, &record, true);
  } else if (now - record.txt_checked_at >= options_.txt_check_interval) {
    startJob(domain, &record, false);
  }
}

void PolicyService::onDiscovered(Job& job, DiscoveryOutcome outcome) {
  const UnixSeconds now = clock_.now();
  const bool have_valid = job.has_cached && validPolicy(job.cached, now);
  using Status = DiscoveryOutcome::Status;

  if (outcome.status != Status::Found) {
    if (have_valid) return keepOrRefreshWithoutTxt(job, outcome, now);
    if (outcome.status == Status::DnsFailed) {
      log()->warn("TXT lookup failed domain={} detail={}", job.domain, escapeForLog(outcome.detail));
      return finishNoPolicy(job, cache::EntryKind::LookupFailed, options_.failure_ttl,
                            "TXT lookup failed: " + outcome.detail);
    }
    if (outcome.status == Status::InvalidRecord) {
      log()->warn("invalid MTA-STS TXT record domain={} reason={}", job.domain,
                  escapeForLog(outcome.detail));
    }
    return finishNoPolicy(job, cache::EntryKind::NoPolicy, options_.negative_ttl, outcome.detail);
  }

  // A record with an id.
  if (have_valid && job.cached.txt_id == outcome.id && !job.force_fetch) {
    job.cached.txt_checked_at = now;  // checked, but the policy's life is NOT extended
    store(job.domain, job.cached);
    return finish(job, job.cached);
  }
  const auto& failure = job.has_cached ? job.cached.last_failure : std::nullopt;
  if (failure && failure->txt_id == outcome.id &&
      now - failure->at < options_.fetch_retry_interval) {
    log()->debug("fetch of same id failed recently, not retrying yet domain={} id={}",
                 job.domain, outcome.id);
    if (have_valid) {
      job.cached.txt_checked_at = now;
      store(job.domain, job.cached);
      return finish(job, job.cached);
    }
    return finishNoPolicy(job, cache::EntryKind::NoPolicy,
                          failure->at + options_.fetch_retry_interval - now,
                          "fetch of this id failed recently");
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
  store(job.domain, job.cached);
  finish(job, job.cached);
}

void PolicyService::startFetch(Job& job, const std::string& id) {
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
    store(job.domain, record);
    return finish(job, record);
  }

  cache::FailureInfo failure{now, outcome.failure, bounded(outcome.detail), id};
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
    store(job.domain, job.cached);
    return finish(job, job.cached);
  }
  log()->warn("policy fetch failed domain={} id={} type={} reason={}", job.domain, id,
              tlsRptResultTypeName(outcome.failure), escapeForLog(outcome.detail));
  cache::PolicyRecord record;
  record.kind = cache::EntryKind::NoPolicy;
  record.txt_id = id;
  record.txt_checked_at = now;
  // Nothing valid to apply: deliver without MTA-STS and wait before fetching this id again.
  record.expires_at = now + options_.fetch_retry_interval;
  record.last_used = last_used;
  record.last_failure = std::move(failure);
  store(job.domain, record);
  finish(job, record);
}

void PolicyService::finishNoPolicy(Job& job, cache::EntryKind kind, UnixSeconds ttl, std::string why) {
  const UnixSeconds now = clock_.now();
  cache::PolicyRecord record;
  record.kind = kind;
  record.txt_checked_at = now;
  record.expires_at = now + ttl;
  record.last_used = job.waiters.empty() ? (job.has_cached ? job.cached.last_used : 0) : now;
  if (job.has_cached) record.last_failure = job.cached.last_failure;
  log()->debug("no policy domain={} reason={}", job.domain, escapeForLog(why));
  store(job.domain, record);
  finish(job, record);
}

void PolicyService::store(const std::string& domain, const cache::PolicyRecord& record) {
  auto written = store_.put(domain, record);
  if (!written) {
    // Waiters still get the fresh answer; the next query resolves again.
    log()->error("policy store write failed domain={} error={}", domain, written.error().detail);
  }
}

void PolicyService::finish(Job& job, const cache::PolicyRecord& record) {
  job.finished = true;
  const postfix::PolicyAnswer decision = decide(job.domain, record);
  for (auto& waiter : job.waiters) {
    waiter->timer.reset();
    if (!waiter->active || !waiter->done) continue;
    waiter->active = false;
    auto done = std::move(waiter->done);
    waiter->done = nullptr;
    done(decision);
  }
  job.waiters.clear();
  auto it = jobs_.find(job.domain);
  if (it != jobs_.end() && it->second.get() == &job) {
    graveyard_.push_back(std::move(it->second));
    jobs_.erase(it);
    ++jobs_finished_;
    buryFinishedJobs();
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

// One warning per domain per fetch_retry_interval; the ones in between go to debug.
void PolicyService::warnRefresh(const std::string& domain, UnixSeconds now,
                                const std::string& line) {
  auto [it, first] = warned_at_.try_emplace(domain, now);
  if (!first) {
    if (now - it->second < options_.fetch_retry_interval) {
      log()->debug("{}", line);
      return;
    }
    it->second = now;
  }
  log()->warn("{}", line);
}

void PolicyService::noteUsage(std::string_view domain, UnixSeconds now) {
  auto it = usage_.find(domain);
  if (it != usage_.end()) {
    it->second = now;
  } else {
    usage_.emplace(std::string(domain), now);
  }
}

void PolicyService::flushUsage() {
  if (usage_.empty()) return;
  std::vector<std::pair<std::string, UnixSeconds>> stamps(usage_.begin(), usage_.end());
  usage_.clear();
  auto written = store_.recordUsage(stamps);
  if (!written) log()->error("usage stamps not written error={}", written.error().detail);
}

void PolicyService::sweep() {
  flushUsage();
  const UnixSeconds now = clock_.now();
  // A used policy that would expire before the next sweep is refreshed now, even if its
  // refresh point has not come: a short-lived one may get no query in its last quarter,
  // and once expired, a missing TXT record would end it for good.
  const UnixSeconds sweep_every =
      std::chrono::duration_cast<std::chrono::seconds>(options_.sweep_interval).count();
  std::erase_if(warned_at_,
                [&](const auto& w) { return now - w.second >= options_.fetch_retry_interval; });
  std::vector<std::string> expired_idle;
  std::vector<std::pair<std::string, cache::PolicyRecord>> due;
  auto visited = store_.forEach([&](std::string_view domain, const cache::PolicyRecord& r) {
    const bool idle = now - r.last_used >= options_.max_idle;
    if (now >= r.expires_at && idle) {
      expired_idle.emplace_back(domain);
    } else if (r.kind == cache::EntryKind::Policy && !idle && jobs_.count(domain) == 0 &&
               (now >= r.fetched_at + refreshAfter(domain, r) ||
                (now < r.expires_at && r.expires_at <= now + sweep_every)) &&
               !(r.last_failure && now - r.last_failure->at < options_.fetch_retry_interval) &&
               due.size() < options_.max_background_refreshes) {
      due.emplace_back(std::string(domain), r);
    }
    return true;
  });
  if (!visited) {
    log()->error("policy store sweep failed error={}", visited.error().detail);
    return;
  }
  for (const auto& domain : expired_idle) {
    auto erased = store_.erase(domain);
    if (!erased) log()->error("policy store erase failed domain={} error={}", domain, erased.error().detail);
  }
  for (const auto& [domain, record] : due) startJob(domain, &record, true);
  if (!expired_idle.empty() || !due.empty()) {
    log()->info("sweep done deleted={} refreshes_started={}", expired_idle.size(), due.size());
  }
}

void PolicyService::startTimers() {
  scheduleFlush();
  scheduleSweep();
}

void PolicyService::scheduleFlush() {
  flush_timer_ = scheduler_.schedule(options_.usage_flush_interval, [this] {
    flushUsage();
    scheduleFlush();
  });
}

void PolicyService::scheduleSweep() {
  sweep_timer_ = scheduler_.schedule(options_.sweep_interval, [this] {
    sweep();
    scheduleSweep();
  });
}

}  // namespace mtasts::daemon
