// PolicyService: the RFC 8461 sending-side cache in front of PolicyResolver.
//  - a fresh cached entry is answered synchronously, with no I/O beyond the store read;
//  - otherwise one resolve job per domain (single flight) runs; queries wait for it up to
//    query_wait_timeout, then get on_resolve_timeout while the job goes on and fills the
//    cache;
//  - cached policies are re-checked (TXT id) and refreshed (fetch) in the background; a
//    failure never replaces a valid policy, and only a successful fetch resets fetched_at;
//    a due refresh fetches whatever the TXT lookup answered (RFC 8461 10.2), and refresh
//    failures warn at most once per domain per fetch_retry_interval;
//  - usage stamps are batched; a periodic sweep deletes expired idle entries and starts
//    proactive refreshes of used policies.
// Runs on the event loop only. Store errors become TempFail decisions and error logs.
#pragma once

#include "cache/policy_store.hpp"
#include "common/clock.hpp"
#include "common/scheduler.hpp"
#include "daemon/policy_resolver.hpp"
#include "postfix/policy_answer.hpp"
#include "sts/policy.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mtasts::daemon {

// RFC 8461 5: enforce applies; testing only when the admin asked for strict_testing
// (Postfix has no "report but deliver" level); none never.
inline bool policyIsEnforced(const sts::Policy& policy, bool strict_testing) {
  return policy.mode == sts::Mode::Enforce || (policy.mode == sts::Mode::Testing && strict_testing);
}

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
};

class PolicyService final : public postfix::PolicyLookup {
 public:
  PolicyService(PolicyResolver& resolver, cache::PolicyStore& store, const Clock& clock,
                Scheduler& scheduler, PolicyServiceOptions options);
  ~PolicyService() override;
  PolicyService(const PolicyService&) = delete;
  PolicyService& operator=(const PolicyService&) = delete;

  RequestHandle lookup(std::string_view domain, Callback done) override;

  void setOptions(const PolicyServiceOptions& options) { options_ = options; }
  void startTimers();  // periodic usage flush and sweep
  void flushUsage();   // also called at shutdown
  void sweep();
  std::size_t jobsInFlight() const { return jobs_.size(); }
  std::uint64_t jobsFinished() const { return jobs_finished_; }

 private:
  struct Waiter;
  struct Job;
  class WaiterHandle;

  Job& startJob(std::string_view domain, const cache::PolicyRecord* cached, bool force_fetch);
  void maybeStartBackgroundWork(std::string_view domain, const cache::PolicyRecord& record,
                                UnixSeconds now);
  void onDiscovered(Job& job, DiscoveryOutcome outcome);
  void keepOrRefreshWithoutTxt(Job& job, const DiscoveryOutcome& outcome, UnixSeconds now);
  void startFetch(Job& job, const std::string& id);
  void onFetched(Job& job, const std::string& id, FetchOutcome outcome);
  void warnRefresh(const std::string& domain, UnixSeconds now, const std::string& line);
  void store(const std::string& domain, const cache::PolicyRecord& record);
  void finish(Job& job, const cache::PolicyRecord& record);
  void finishNoPolicy(Job& job, cache::EntryKind kind, UnixSeconds ttl, std::string why);
  void onWaitTimeout(const std::shared_ptr<Waiter>& waiter, const std::string& domain);
  void noteUsage(std::string_view domain, UnixSeconds now);
  postfix::PolicyAnswer decide(std::string_view domain, const cache::PolicyRecord& record) const;
  UnixSeconds refreshAfter(std::string_view domain, const cache::PolicyRecord& record) const;
  bool validPolicy(const cache::PolicyRecord& record, UnixSeconds now) const;
  void buryFinishedJobs();
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

  cache::PolicyRecord scratch_;  // reused by lookup() so a cache hit need not allocate
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

}  // namespace mtasts::daemon
