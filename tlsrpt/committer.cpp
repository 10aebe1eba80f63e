#include "tlsrpt/committer.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds FailureLogInterval = 60;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

// The counters without the commit time: a commit is needed only when these changed.
bool sameCounts(const CollectorCounters& a, const CollectorCounters& b) {
  return a.values == b.values && a.started_at == b.started_at;
}

}  // namespace

Committer::Committer(DayAggregate& aggregate, DayStore& store, CollectorStats& stats, const Clock& clock,
                     CommitterOptions options)
    : aggregate_(aggregate), store_(store), stats_(stats), clock_(clock), options_(std::move(options)) {}

Committer::~Committer() { (void)stop(); }

Result<void> Committer::prepare() {
  const UnixSeconds now = clock_.now();
  stats_.started_at.store(now, std::memory_order_relaxed);
  const UtcDay today = utcDayOf(now);
  // Yesterday too: the aggregate accepts it while the clock is within a step of midnight.
  for (UtcDay day : {UtcDay{today.days - 1}, today}) {
    auto entries = store_.entries(day);
    if (!entries) return Unexpected{std::move(entries).error()};
    for (const auto& entry : *entries) aggregate_.seed(entry);
  }
  if (auto swept = sweep(); !swept) return Unexpected{std::move(swept).error()};
  return {};
}

void Committer::start() {
  std::lock_guard lock(wake_mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

Result<void> Committer::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    if (stopping_ && !thread_.joinable()) return final_result_;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();  // the thread made the final commit
  } else {
    final_result_ = commitOnce();
  }
  return final_result_;
}

void Committer::run() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)commitOnce();
    lock.lock();
  }
  lock.unlock();
  final_result_ = commitOnce();
}

Result<void> Committer::commitOnce() {
  std::lock_guard lock(commit_mutex_);
  const UnixSeconds now = clock_.now();
  const UtcDay today = utcDayOf(now);
  if (std::uint64_t overflowed = mergeDelta(pending_, aggregate_.takeDelta(), aggregate_.limits()); overflowed > 0) {
    stats_.overflow_rows.fetch_add(overflowed, std::memory_order_relaxed);
  }
  // A kept delta never grows past two days: what is older cannot be committed in time anyway.
  std::uint64_t expired = 0;
  std::erase_if(pending_.entries, [&](const DayEntry& e) {
    if (e.day.days >= today.days - 1) return false;
    expired = saturatingAdd(expired, saturatingAdd(e.counts.successful_sessions, e.counts.failed_sessions));
    return true;
  });
  if (expired > 0) {
    stats_.lost_sessions.fetch_add(expired, std::memory_order_relaxed);
    logger()->error("uncommitted sessions of past days dropped after failed commits sessions={}", expired);
  }
  CollectorCounters counters = stats_.snapshot();
  if (pending_.empty() && sameCounts(counters, stored_counters_)) return {};
  counters.last_commit = now;
  // The counters stored show this commit as done: count it before the snapshot is written.
  for (auto& [name, value] : counters.values) {
    if (name == "commits") ++value;
  }
  const std::uint64_t sessions = pending_.sessions();
  auto result = store_.commit(pending_, &counters, aggregate_.limits());
  if (!result) {
    stats_.commit_failures.fetch_add(1, std::memory_order_relaxed);
    logFailure(result.error(), now);
    return Unexpected{std::move(result).error()};
  }
  aggregate_.recycle(std::move(pending_.entries));
  pending_ = DayDelta{};
  stored_counters_ = std::move(counters);
  stats_.commits.fetch_add(1, std::memory_order_relaxed);
  stats_.last_commit.store(now, std::memory_order_relaxed);
  stats_.overflow_rows.fetch_add(result->overflowed, std::memory_order_relaxed);
  stats_.lost_sessions.fetch_add(result->dropped, std::memory_order_relaxed);
  // The counters just stored must compare equal to the next snapshot when nothing else
  // happens, so that an idle collector does not commit every interval.
  stored_counters_ = stats_.snapshot();
  if (last_failure_log_ != 0) {
    logger()->info("TLS-RPT commit succeeded again unlogged_failures={}", failures_unlogged_);
    failures_unlogged_ = 0;
    last_failure_log_ = 0;
  }
  if (options_.after_commit) options_.after_commit(sessions);
  {
    std::lock_guard wake(wake_mutex_);
    ++commits_;
  }
  commits_cv_.notify_all();
  if (today.days != swept_day_) (void)sweep();
  return {};
}

Result<std::size_t> Committer::sweep() {
  const UtcDay today = utcDayOf(clock_.now());
  auto deleted = store_.sweep(UtcDay{today.days - options_.keep_days});
  if (!deleted) {
    logger()->error("sweep of old TLS-RPT days failed error={}", escapeForLog(deleted.error().detail));
    return deleted;
  }
  swept_day_ = today.days;
  if (*deleted > 0) logger()->info("old TLS-RPT days deleted records={} keep_days={}", *deleted, options_.keep_days);
  return deleted;
}

std::uint64_t Committer::commits() const {
  std::lock_guard lock(wake_mutex_);
  return commits_;
}

bool Committer::waitForCommits(std::uint64_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(wake_mutex_);
  return commits_cv_.wait_for(lock, timeout, [&] { return commits_ >= n; });
}

void Committer::logFailure(const Error& error, UnixSeconds now) {
  ++failures_unlogged_;
  if (last_failure_log_ != 0 && now - last_failure_log_ < FailureLogInterval) return;
  last_failure_log_ = now;
  logger()->error("TLS-RPT commit failed, counts kept for the next attempt error={} failures={} pending_sessions={}",
                  escapeForLog(error.detail), failures_unlogged_, pending_.sessions());
  failures_unlogged_ = 0;
}

}  // namespace mtasts::tlsrpt
