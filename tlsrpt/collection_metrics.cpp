#include "tlsrpt/collection_metrics.hpp"

#include <string>

namespace mtasts::tlsrpt {
namespace {

using Sources = CollectionMetrics::Sources;

std::uint64_t load(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }

std::uint64_t maillog(const Sources& s, std::uint64_t (*field)(const MaillogCollectorStats&)) {
  return s.maillog ? field(*s.maillog) : 0;
}

}  // namespace

Result<void> CollectionMetrics::mirror(metrics::Registry& registry, std::string_view name, std::string_view help,
                                       const metrics::Labels& labels,
                                       std::function<std::uint64_t(const Sources&)> read) {
  auto counter = registry.counter(name, help, labels);
  if (!counter) return Unexpected{std::move(counter).error()};
  mirrors_.push_back(Mirror{*counter, std::move(read), 0});
  return {};
}

Result<std::unique_ptr<CollectionMetrics>> CollectionMetrics::create(metrics::Registry& registry,
                                                                     const TlsRptCollection& collection) {
  std::unique_ptr<CollectionMetrics> m(new CollectionMetrics(collection));
  CollectionMetrics* self = m.get();
  // First: collect() evaluates families in registration order, so this reading brings the
  // counters below up to date before they are read.
  auto last_commit = registry.gaugeCallback(
      "mtastsd_tlsrpt_last_commit_timestamp_seconds",
      "Unix time of the last successful commit of TLS-RPT counts (0: none since start)", {}, [self] {
        self->sync();
        return static_cast<double>(self->collection_.stats().last_commit.load(std::memory_order_relaxed));
      });
  if (!last_commit) return Unexpected{std::move(last_commit).error()};
  m->gauges_.push_back(std::move(*last_commit));

  const std::string datagrams = "mtastsd_tlsrpt_datagrams_";
  std::vector<Result<void>> results;
  results.push_back(m->mirror(registry, datagrams + "received_total", "TLSRPT datagrams read from the socket", {},
                              [](const Sources& s) { return load(s.stats->received); }));
  results.push_back(m->mirror(registry, datagrams + "accepted_total", "TLSRPT datagrams parsed and counted", {},
                              [](const Sources& s) { return load(s.stats->accepted); }));
  const std::pair<const char*, std::atomic<std::uint64_t> CollectorStats::*> rejected[] = {
      {"invalid", &CollectorStats::rejected_invalid},
      {"too-large", &CollectorStats::rejected_too_large},
      {"truncated", &CollectorStats::rejected_truncated}};
  for (const auto& [reason, field] : rejected) {
    results.push_back(m->mirror(registry, datagrams + "rejected_total", "TLSRPT datagrams refused, by reason",
                                {{"reason", reason}}, [f = field](const Sources& s) { return load(s.stats->*f); }));
  }
  const std::pair<const char*, std::atomic<std::uint64_t> CollectorStats::*> warnings[] = {
      {"count-mismatch", &CollectorStats::warned_count_mismatch},
      {"utf8-replaced", &CollectorStats::warned_utf8_replaced},
      {"unknown-members", &CollectorStats::warned_unknown_members},
      {"details-on-success", &CollectorStats::warned_details_on_success}};
  for (const auto& [kind, field] : warnings) {
    results.push_back(m->mirror(registry, datagrams + "warnings_total",
                                "TLSRPT datagrams counted with a warning (t mismatch, bytes replaced by U+FFFD, ...)",
                                {{"kind", kind}}, [f = field](const Sources& s) { return load(s.stats->*f); }));
  }
  for (std::size_t i = 0; i < SessionSourceCount; ++i) {
    results.push_back(m->mirror(registry, "mtastsd_tlsrpt_sessions_total", "TLS-RPT sessions counted, by source",
                                {{"source", std::string(sessionSourceName(static_cast<SessionSource>(i)))}},
                                [i](const Sources& s) { return load(s.stats->sessions[i]); }));
  }
  const std::pair<const char*, std::atomic<std::uint64_t> CollectorStats::*> dropped[] = {
      {"domain-bound", &CollectorStats::dropped_domain_bound},
      {"policy-bound", &CollectorStats::dropped_policy_bound},
      {"commit-failed", &CollectorStats::lost_sessions}};
  for (const auto& [reason, field] : dropped) {
    results.push_back(m->mirror(registry, "mtastsd_tlsrpt_sessions_dropped_total",
                                "TLS-RPT sessions not stored: past tlsrpt_max_domains_per_day or "
                                "tlsrpt_max_policies_per_domain, or lost after failed commits",
                                {{"reason", reason}}, [f = field](const Sources& s) { return load(s.stats->*f); }));
  }
  results.push_back(m->mirror(registry, "mtastsd_tlsrpt_overflow_failures_total",
                              "Failure sessions counted in an overflow row (past tlsrpt_max_detail_rows)", {},
                              [](const Sources& s) { return load(s.stats->overflow_rows); }));
  results.push_back(m->mirror(registry, "mtastsd_tlsrpt_own_failures_rejected_total",
                              "Own policy fetch failures not counted (invalid domain or result type)", {},
                              [](const Sources& s) { return load(s.stats->rejected_own_failures); }));
  results.push_back(m->mirror(registry, "mtastsd_tlsrpt_commits_total", "Commits of TLS-RPT counts to LMDB", {},
                              [](const Sources& s) { return load(s.stats->commits); }));
  results.push_back(m->mirror(registry, "mtastsd_tlsrpt_commit_failures_total",
                              "Failed commits of TLS-RPT counts (kept for the next attempt)", {},
                              [](const Sources& s) { return load(s.stats->commit_failures); }));

  const std::string maillog_prefix = "mtastsd_tlsrpt_maillog_";
  results.push_back(m->mirror(registry, maillog_prefix + "entries_total", "Mail-log lines or journal entries read",
                              {}, [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.entries; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "overlong_total",
                              "Mail-log lines over tlsrpt_maillog_max_line, skipped", {}, [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.overlong; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "rotations_total",
                              "Mail-log rotations followed, by kind", {{"kind", "rename"}}, [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.rotations; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "rotations_total", "Mail-log rotations followed, by kind",
                              {{"kind", "truncate"}}, [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.truncations; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "gaps_total",
                              "Times mail-log lines may have been lost (rotated away or vacuumed before read)", {},
                              [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.lost_gaps; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "read_errors_total", "Failed mail-log reads (retried)", {},
                              [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) { return st.source.read_errors; });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "handshakes_dropped_total",
                              "Handshakes whose status line never came (expired, evicted, over a bound)", {},
                              [](const Sources& s) {
                                return maillog(s, [](const MaillogCollectorStats& st) {
                                  return st.sessions.dropped_expired + st.sessions.dropped_evicted +
                                         st.sessions.dropped_overflow;
                                });
                              }));
  results.push_back(m->mirror(registry, maillog_prefix + "sessions_skipped_total",
                              "Mail-log sessions not counted, by reason", {{"reason", "unreportable"}},
                              [](const Sources& s) { return s.sink ? load(s.sink->unreportable) : 0; }));
  results.push_back(m->mirror(registry, maillog_prefix + "sessions_skipped_total",
                              "Mail-log sessions not counted, by reason", {{"reason", "one-source"}},
                              [](const Sources& s) { return s.sink ? load(s.sink->one_source_skipped) : 0; }));
  for (auto& r : results) {
    if (!r) return Unexpected{std::move(r).error()};
  }

  auto socket_up = registry.gaugeCallback("mtastsd_tlsrpt_socket_up",
                                          "1 while the TLSRPT datagram socket is read, else 0", {},
                                          [self] { return self->collection_.datagramsRunning() ? 1.0 : 0.0; });
  if (!socket_up) return Unexpected{std::move(socket_up).error()};
  m->gauges_.push_back(std::move(*socket_up));
  auto maillog_up = registry.gaugeCallback("mtastsd_tlsrpt_maillog_up",
                                           "1 while the mail-log source is followed, else 0", {}, [self] {
                                             auto stats = self->collection_.maillogStats();
                                             return stats && stats->running ? 1.0 : 0.0;
                                           });
  if (!maillog_up) return Unexpected{std::move(maillog_up).error()};
  m->gauges_.push_back(std::move(*maillog_up));
  return m;
}

void CollectionMetrics::sync() {
  Sources sources;
  sources.stats = &collection_.stats();
  sources.maillog = collection_.maillogStats();
  sources.sink = collection_.sinkCounters();
  std::lock_guard lock(mutex_);
  for (auto& m : mirrors_) {
    const std::uint64_t now = m.read(sources);
    if (now > m.last) m.counter.inc(now - m.last);
    m.last = std::max(m.last, now);
  }
}

}  // namespace mtasts::tlsrpt
