// Committer: the writer thread of TLS-RPT collection. Every commit_interval it takes the day
// aggregate's delta and merges it into the day store in one LMDB write txn (with the source
// positions and the collector counters), so the threads that add never wait on the disk.
// A session is in exactly one committed txn or lost with the process: a kill -9 loses at most
// what was added since the last commit began, never counts twice. A failed commit keeps its
// delta for the next attempt (days before yesterday are dropped and counted as lost, so the
// kept delta stays within two days' bounds). stop() makes a final commit and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/day_aggregate.hpp"
#include "tlsrpt/day_store.hpp"

namespace mtasts::tlsrpt {

struct CommitterOptions {
  std::chrono::milliseconds interval{1'000};  // tlsrpt_commit_interval
  int keep_days = 7;                          // tlsrpt_keep_days: today and the keep_days before
  // Tests and benchmarks: called on the committing thread after each successful commit with
  // the number of sessions it stored.
  std::function<void(std::uint64_t sessions)> after_commit;
};

class Committer {
 public:
  Committer(DayAggregate& aggregate, DayStore& store, CollectorStats& stats, const Clock& clock,
            CommitterOptions options);
  ~Committer();  // stop()
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Startup, before any producer runs: seeds today's stored entries into the aggregate's day
  // bounds, deletes days past keep_days, and records the start time in the counters.
  Result<void> prepare();
  // Starts the writer thread.
  void start();
  // Wakes the writer thread, which makes a final commit and exits; joins it. Returns that
  // commit's outcome. Safe to call twice and without start() (then commits on this thread).
  Result<void> stop();

  // One commit, now, on the calling thread (the writer thread runs this every interval).
  // Commits nothing when there is no delta and the counters did not change. Serialised with
  // the writer thread.
  Result<void> commitOnce();
  // Deletes days before today - keep_days.
  Result<std::size_t> sweep();

  std::uint64_t commits() const;
  // Waits (bounded) until at least `n` commits have succeeded; for tests and benchmarks.
  bool waitForCommits(std::uint64_t n, std::chrono::milliseconds timeout) const;

 private:
  void run();
  void logFailure(const Error& error, UnixSeconds now);

  DayAggregate& aggregate_;
  DayStore& store_;
  CollectorStats& stats_;
  const Clock& clock_;
  CommitterOptions options_;

  std::mutex commit_mutex_;  // serialises commitOnce(); guards pending_ and the fields below
  DayDelta pending_;         // taken but not yet committed (after a failed commit)
  CollectorCounters stored_counters_;  // what the last commit stored (unchanged: no commit)
  std::int64_t swept_day_ = INT64_MIN;
  UnixSeconds last_failure_log_ = 0;
  std::uint64_t failures_unlogged_ = 0;

  mutable std::mutex wake_mutex_;  // guards stopping_; commits_cv_ waits on it too
  mutable std::condition_variable wake_;
  mutable std::condition_variable commits_cv_;
  bool stopping_ = false;
  std::uint64_t commits_ = 0;
  Result<void> final_result_;
  std::thread thread_;
};

}  // namespace mtasts::tlsrpt
