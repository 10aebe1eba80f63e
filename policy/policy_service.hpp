// PolicyService: the RFC 8461 sending-side cache in front of PolicyResolver; implements
// postfix::PolicyLookup for the socketmap server.
//  - a fresh cached entry is answered synchronously, with no I/O beyond the store read;
//  - otherwise one resolve job per domain (single flight) runs; queries wait for it up to
//    query_wait_timeout, then get on_resolve_timeout while the job goes on and fills the
//    cache (policy_service.cpp: lookups and jobs);
//  - what a resolve stores follows RFC 8461 3.3 and 10.2: a failure never replaces a valid
//    policy, only a successful fetch resets fetched_at, a due refresh fetches whatever the
//    TXT lookup answered (policy_resolve.cpp);
//  - usage stamps are batched; a periodic sweep deletes expired idle entries and starts
//    proactive refreshes of used policies; refresh failures warn at most once per domain per
//    fetch_retry_interval (policy_upkeep.cpp);
//  - with options.dane, DANE (policy/dane_check.hpp) is checked beside MTA-STS for domains
//    with an MTA-STS record (every domain with dane_without_sts), its state kept in the same
//    entry until the DNS TTLs run out: refreshed in the background in the last quarter of
//    its life, waited for once expired (on_resolve_timeout then answers from the entry as
//    it was); where DANE applies it decides the answer (policy_dane.cpp).
// Every answered lookup and finished resolve is reported to the PolicyEvents observer (may
// be null). Runs on the event loop only. Store errors become TempFail answers and error logs.
#pragma once

#include "cache/policy_store.hpp"
#include "common/clock.hpp"
#include "common/scheduler.hpp"
#include "policy/dane_check.hpp"
#include "policy/policy_events.hpp"
#include "policy/policy_resolver.hpp"
#include "postfix/policy_answer.hpp"
#include "sts/policy.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mtasts::policy {

// RFC 8461 5: enforce applies; testing only when the admin asked for strict_testing
// (Postfix has no "report but deliver" level); none never.
inline bool policyIsEnforced(const sts::Policy& policy, bool strict_testing) {
  return policy.mode == sts::Mode::Enforce || (policy.mode == sts::Mode::Testing && strict_testing);
}

// Whether a cache entry says "no policy because the fetch of its TXT id failed, with nothing
// valid cached" (a NoPolicy entry carries a txt_id only then; last_failure says why).
bool fetchFailedWithoutPolicy(const cache::PolicyRecord& record);

struct PolicyServiceOptions {
  enum class OnTimeout { NotFound, Temp };
  bool strict_testing = false;
  std::chrono::milliseconds query_wait_timeout{5'000};
  OnTimeout on_resolve_timeout = OnTimeout::NotFound;
  UnixSeconds txt_check_interval = 3'600;
  UnixSeconds refresh_interval = 86'400;
  UnixSeconds max_idle = 30 * 86'400;
  UnixSeconds negative_ttl = 3'600;
  UnixSeconds failure_ttl = 300;
  UnixSeconds fetch_retry_interval = 300;  // RFC 8461 3.3 suggests no sooner than 5 minutes
  std::chrono::milliseconds usage_flush_interval{60'000};
  // A lookup stamps last_used only when the stored stamp is older than this (and never
  // coarser than a tenth of max_idle): max_idle needs no finer clock, and a busy cache
  // is then not rewritten every flush.
  UnixSeconds usage_resolution = 3'600;
  std::chrono::milliseconds sweep_interval{3'600'000};
  std::size_t max_background_refreshes = 16;  // started per sweep, so they never all go at once
  // DANE takes precedence over MTA-STS (RFC 8461 2). Set only when the resolver's answers
  // carry a DNSSEC status (dane = auto and DnsClient::validatesDnssec()).
  bool dane = false;
  bool dane_without_sts = false;  // answer `dane` for DANE domains without MTA-STS (else NOTFOUND)
};

class PolicyService final : public postfix::PolicyLookup {
 public:
  PolicyService(PolicyResolver& resolver, cache::PolicyStore& store, const Clock& clock,
                Scheduler& scheduler, PolicyServiceOptions options, PolicyEvents* events = nullptr);
  ~PolicyService() override;
  PolicyService(const PolicyService&) = delete;
  PolicyService& operator=(const PolicyService&) = delete;

  // The answer's views point into the service's state and are valid during the callback
  // only; the callback may call lookup() again (also for the same domain).
  RequestHandle lookup(std::string_view domain, Callback done) override;

  void setOptions(const PolicyServiceOptions& options) { options_ = options; }
  void startTimers();  // periodic usage flush and sweep
  void flushUsage();   // also called at shutdown
  void sweep();
  std::size_t jobsInFlight() const { return jobs_.size(); }
  std::uint64_t jobsFinished() const { return jobs_finished_; }

 private:
  struct Waiter {
    Callback done;
    RequestHandle timer;
    CacheState cache = CacheState::Missing;  // what the waiting lookup found
    bool active = true;
    bool stale_ok = false;  // a valid entry whose DANE state expired: on timeout, answer from it
  };
  struct Job {
    std::string domain;
    bool has_cached = false;
    cache::PolicyRecord cached;  // the entry as it was when the job started
    bool force_fetch = false;    // proactive refresh: fetch even if the id is unchanged
    ResolveReason reason = ResolveReason::First;
    std::chrono::milliseconds started{0};        // scheduler time
    std::chrono::milliseconds fetch_started{-1};  // scheduler time; -1 while no fetch ran
    // A refresh fetching without a usable TXT id: what the TXT lookup said, for the log.
    const char* txt_headline = "";
    std::string txt_problem;
    bool finished = false;
    RequestHandle discovery;
    RequestHandle fetch;
    std::vector<std::shared_ptr<Waiter>> waiters;
    // DANE (policy_dane.cpp): the check runs beside the MTA-STS steps; whichever half ends
    // first waits for the other, the entry in `held`.
    bool sts_step = true;      // false: a DANE refresh of a valid entry (no TXT, no events)
    bool dane_running = false;
    bool dane_ran = false;     // dane_info holds its result
    cache::DaneInfo dane_info;
    bool sts_done = false;     // the MTA-STS half ended: `held` and `held_event` wait for DANE
    cache::PolicyRecord held;
    ResolveEvent held_event;
    RequestHandle dane;
  };
  class WaiterHandle;

  // policy_service.cpp: lookups, jobs, answers, events
  Job& startJob(std::string_view domain, const cache::PolicyRecord* cached, bool force_fetch,
                bool sts_step = true);
  void onWaitTimeout(const std::shared_ptr<Waiter>& waiter, const std::string& domain);
  void finish(Job& job, const cache::PolicyRecord& record, ResolveEvent& event);
  void report(std::string_view domain, const postfix::PolicyAnswer& answer, LookupPath path, CacheState cache,
              const cache::PolicyRecord* record);
  postfix::PolicyAnswer decide(std::string_view domain, const cache::PolicyRecord& record) const;
  bool validPolicy(const cache::PolicyRecord& record, UnixSeconds now) const;
  void store(const std::string& domain, const cache::PolicyRecord& record);
  void buryFinishedJobs();
  // policy_resolve.cpp: what one resolve stores (RFC 8461 3.3, 10.2)
  void onDiscovered(Job& job, DiscoveryOutcome outcome);
  void keepOrRefreshWithoutTxt(Job& job, const DiscoveryOutcome& outcome, UnixSeconds now);
  void startFetch(Job& job, const std::string& id);
  void onFetched(Job& job, const std::string& id, FetchOutcome outcome);
  void finishNoPolicy(Job& job, cache::EntryKind kind, UnixSeconds ttl, std::string why, ResolveEvent& event);
  ResolveEvent resolveEvent(const Job& job, ResolveOutcome outcome) const;
  // policy_dane.cpp: the DANE half of a job and when an entry's DANE state needs one
  void complete(Job& job, cache::PolicyRecord record, ResolveEvent event);
  void startDane(Job& job);
  void onDaneChecked(Job& job, DaneOutcome outcome);
  void attachDane(const Job& job, cache::PolicyRecord& record) const;
  bool daneWanted(const cache::PolicyRecord& record) const;
  bool daneExpired(const cache::PolicyRecord& record, UnixSeconds now) const;
  bool daneDue(const cache::PolicyRecord& record, UnixSeconds now) const;
  // policy_upkeep.cpp: background refreshes, usage stamps, sweep
  void maybeStartBackgroundWork(std::string_view domain, const cache::PolicyRecord& record, UnixSeconds now);
  UnixSeconds refreshAfter(std::string_view domain, const cache::PolicyRecord& record) const;
  void warnRefresh(const std::string& domain, UnixSeconds now, const std::string& line);
  void noteUsage(std::string_view domain, UnixSeconds now);
  void scheduleFlush();
  void scheduleSweep();

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  PolicyResolver& resolver_;
  cache::PolicyStore& store_;
  const Clock& clock_;
  Scheduler& scheduler_;
  PolicyServiceOptions options_;
  PolicyEvents* events_;

  // Reused by lookup() so a cache hit need not allocate. A lookup() from inside the
  // callback of a cache hit (whose answer points into scratch_) reads into a record of
  // its own instead, so the outer answer stays intact.
  cache::PolicyRecord scratch_;
  bool scratch_in_use_ = false;
  std::unordered_map<std::string, std::unique_ptr<Job>, StringHash, std::equal_to<>> jobs_;
  // Finished jobs are destroyed on a later loop turn, never inside their own callbacks.
  std::vector<std::unique_ptr<Job>> graveyard_;
  RequestHandle graveyard_timer_;
  bool graveyard_pending_ = false;
  std::unordered_map<std::string, UnixSeconds, StringHash, std::equal_to<>> usage_;
  // Last refresh warning per domain: at most one per fetch_retry_interval (pruned by sweep).
  std::unordered_map<std::string, UnixSeconds, StringHash, std::equal_to<>> warned_at_;
  std::uint64_t jobs_finished_ = 0;
  RequestHandle flush_timer_;
  RequestHandle sweep_timer_;
};

}  // namespace mtasts::policy
