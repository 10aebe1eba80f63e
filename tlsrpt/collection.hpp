// TlsRptCollection: TLS-RPT counting in the running daemon, all three sources into one day
// aggregate: the libtlsrpt datagram socket (its reader thread), the mail log (its collector
// thread, with the policy cache read on that thread for each session's policy) and the
// daemon's own policy fetch failures (a PolicyEvents observer, loop thread). Owns the
// counters, the aggregate, the day store on the process's LMDB env and the committer thread.
// Lifecycle (loop thread): bindSocket() as root, start(env) after the privilege drop,
// stopSources() at shutdown, flush() for the final commit; the destructor does what is left,
// in the order the collector and the env need (sources, committer, store, then the env).
// Errors are Results: the caller decides (the daemon logs them and keeps serving Postfix).
#pragma once

#include "cache/lmdb_env.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "policy/policy_events.hpp"
#include "tlsrpt/cached_policy.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/committer.hpp"
#include "tlsrpt/datagram_collector.hpp"
#include "tlsrpt/day_aggregate.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/maillog_collector.hpp"
#include "tlsrpt/maillog_file_follower.hpp"
#include "tlsrpt/maillog_journal_reader.hpp"
#include "tlsrpt/maillog_sink.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace mtasts::tlsrpt {

// tlsrpt_maillog = journal
inline constexpr std::string_view MaillogJournal = "journal";

struct CollectionOptions {
  DayLimits limits;
  CommitterOptions committer;
  // The datagram socket (tlsrpt_socket); none: not configured.
  std::optional<DatagramCollectorOptions> datagrams;
  // tlsrpt_maillog: empty (off), "journal", or the absolute path of a log file (it goes into
  // file.path).
  std::string maillog;
  MaillogFileOptions file;
  MaillogJournalOptions journal;
  MaillogCollectorOptions maillog_collector;  // its pump.sessions.policy_for is set here
  VerdictRules verdict_rules;                 // the policy engine's: what "in force" means
};

class TlsRptCollection final : public policy::PolicyEvents {
 public:
  TlsRptCollection(const Clock& clock, CollectionOptions options);
  ~TlsRptCollection() override;
  TlsRptCollection(const TlsRptCollection&) = delete;
  TlsRptCollection& operator=(const TlsRptCollection&) = delete;

  // Binds the datagram socket when one is configured (as root: owner and group), or adopts
  // `inherited`, the socket systemd bound at that path (mtastsd-tlsrpt.socket; its file is
  // then never chmod'ed nor unlinked). On error collection goes on without it.
  Result<void> bindSocket(net::UniqueFd inherited = {});
  // Attaches the day store (and, for the mail log, the policy cache reader) to env, seeds
  // the day bounds, starts the committer, the datagram reader and the mail-log collector.
  // On error nothing runs. Call once, before other threads use env.
  Result<void> start(std::shared_ptr<cache::LmdbEnv> env);
  // Stops the datagram reader and the mail-log collector; each counts what it had read.
  void stopSources();
  // A commit now. After stopSources(): the final commit, and the committer thread ends.
  Result<void> flush();

  void setVerdictRules(const VerdictRules& rules);

  // Own failures (loop thread): a lookup answered without a policy because the fetch failed
  // while nothing valid was cached is one sts failure session of that domain.
  void lookupAnswered(const policy::LookupEvent& event) noexcept override;
  void resolveFinished(const policy::ResolveEvent&) noexcept override {}

  bool started() const { return committer_ != nullptr; }
  bool socketBound() const { return datagrams_ != nullptr; }
  bool datagramsRunning() const { return datagrams_running_.load(std::memory_order_relaxed); }
  bool maillogConfigured() const { return !options_.maillog.empty(); }
  const CollectorStats& stats() const { return stats_; }
  // The mail-log collector's counters (nullopt: no mail-log source running or stopped).
  std::optional<MaillogCollectorStats> maillogStats() const;
  const MaillogSinkCounters* sinkCounters() const { return sink_ ? &sink_->counters() : nullptr; }
  const CollectionOptions& options() const { return options_; }

 private:
  Result<void> startMaillog(const std::shared_ptr<cache::LmdbEnv>& env);

  const Clock& clock_;
  CollectionOptions options_;
  CollectorStats stats_;
  DayAggregate aggregate_;
  std::unique_ptr<DayStore> store_;
  std::unique_ptr<CachedPolicyReader> policies_;  // the mail-log thread's
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<DatagramCollector> datagrams_;
  std::atomic<bool> datagrams_running_{false};
  std::unique_ptr<MaillogAggregateSink> sink_;
  std::unique_ptr<MaillogCollector> maillog_;
  bool sources_stopped_ = false;
  bool committer_stopped_ = false;
};

}  // namespace mtasts::tlsrpt
