#include "tlsrpt/maillog_sink.hpp"

#include "common/domain.hpp"
#include "common/log.hpp"
#include "postfix/socketmap.hpp"
#include "tlsrpt/maillog_position.hpp"

namespace mtasts::tlsrpt {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("maillog");
  return l;
}

void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) { counter.fetch_add(n, std::memory_order_relaxed); }

}  // namespace

std::string tlsrptLinesMarkerName(std::string_view source_key) {
  return "tlsrpt-lines:" + std::string(source_key);
}

std::vector<DayAggregate::SourcedSession> sourcedSessions(std::vector<MaillogSession>& sessions,
                                                          std::uint64_t& unreportable) {
  std::vector<DayAggregate::SourcedSession> out;
  out.reserve(sessions.size());
  for (auto& s : sessions) {
    if (!s.reportable) {
      ++unreportable;
      continue;
    }
    // The report goes to the policy domain in A-label form (policy_for gives it; without a
    // hook the next hop as logged, which may be a U-label).
    std::string domain = std::move(s.policy.domain);
    if (domain.empty() || hasNonAsciiByte(domain)) {
      const postfix::PolicyKey key = postfix::normalizePolicyKey(domain.empty() ? s.policy_domain : domain);
      domain.assign(key.domain());
    }
    if (domain.empty()) {
      ++unreportable;
      continue;
    }
    DayAggregate::SourcedSession& out_s = out.emplace_back();
    out_s.at = s.at;
    out_s.outcome.policy = std::move(s.policy);
    out_s.outcome.policy.domain = domain;
    out_s.report_domain = std::move(domain);
    out_s.outcome.failed = !s.success;
    if (!s.success) out_s.outcome.failure_details.push_back(std::move(s.failure));
  }
  return out;
}

MaillogAggregateSink::MaillogAggregateSink(DayAggregate& aggregate, std::function<bool()> datagrams_running,
                                           bool marker_stored)
    : aggregate_(aggregate),
      datagrams_running_(std::move(datagrams_running)),
      marker_(marker_stored),
      marker_stored_(marker_stored) {}

void MaillogAggregateSink::operator()(MaillogBatch&& batch) {
  add(counters_.batches, 1);
  if (batch.saw_tlsrpt_lines) marker_ = true;
  if (marker_ && !marker_stored_) {
    // Before the batch's position, so no commit can hold the position without the marker.
    if (aggregate_.setPosition(tlsrptLinesMarkerName(batch.position_key), "1")) marker_stored_ = true;
  }
  std::string position = encodeMaillogPosition(batch.position);
  if (marker_ && datagrams_running_ && datagrams_running_()) {
    if (!skip_logged_) {
      skip_logged_ = true;
      logger()->warn("the mail log shows Postfix 3.10+ TLSRPT lines and the datagram socket is running: counting "
                     "that Postfix's datagrams only, not its log (one source per Postfix) source={}",
                     escapeForLog(batch.position_key));
    }
    add(counters_.one_source_skipped, batch.sessions.size());
    if (auto ok = aggregate_.setPosition(batch.position_key, std::move(position)); !ok) {
      add(counters_.refused_batches, 1);
      logger()->error("mail-log position refused error={}", escapeForLog(ok.error().detail));
    }
    return;
  }
  std::uint64_t unreportable = 0;
  auto sessions = sourcedSessions(batch.sessions, unreportable);
  add(counters_.unreportable, unreportable);
  const std::size_t n = sessions.size();
  if (auto ok = aggregate_.addBatch(SessionSource::Maillog, sessions, batch.position_key, std::move(position)); !ok) {
    add(counters_.refused_batches, 1);
    logger()->error("mail-log batch refused sessions={} error={}", n, escapeForLog(ok.error().detail));
    return;
  }
  add(counters_.sessions, n);
}

}  // namespace mtasts::tlsrpt
