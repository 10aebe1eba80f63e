// PolicyService, part 3: the background work that keeps the cache useful: when a cached
// policy is rechecked or refreshed, batched usage stamps, the periodic sweep, and the rate
// limit on refresh warnings.
#include "policy/policy_service.hpp"
#include "policy/policy_service_log.hpp"

#include <algorithm>
#include <utility>

namespace mtasts::policy {
namespace {

// A stable per-domain number in [0, 1000): spreads refreshes of policies fetched at the
// same moment over +-10% of refresh_interval, and does so the same way after a restart.
unsigned jitterPermille(std::string_view domain) {
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (char c : domain) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;  // bytes, unsigned
  return h % 1000u;
}

}  // namespace

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

}  // namespace mtasts::policy
