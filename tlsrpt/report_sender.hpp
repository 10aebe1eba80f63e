// ReportSender: builds and delivers the TLS-RPT reports of each UTC day (RFC 8460 4-5), on
// the event loop, never holding it: store access, report building and mail composition run
// as jobs on a TaskRunner (report_jobs.hpp; the LMDB write lock is shared with the committer
// thread and with a manual --report, so a write on the loop could wait on their fdatasync),
// one report per job and one build step per loop turn; the loop does the DNS lookups, the
// HTTPS POSTs and drives sendmail. Daemon mode: a day is built after 00:00 UTC of the next
// day plus its random delay (stored once), each report made once and stored with its delivery
// records before anything is sent; each delivery is claimed in a committed txn, sent, and its
// outcome committed; failures are retried with backoff for the retry window, then given up
// with one warning. Manual mode (mtastsd --report): one day, every open destination tried
// once now; --dry-run writes files instead. Loop thread; errors are logged and retried.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/pending.hpp"
#include "common/scheduler.hpp"
#include "net/dns_client.hpp"
#include "net/https_client.hpp"
#include "net/worker_thread.hpp"
#include "tlsrpt/report_jobs.hpp"
#include "tlsrpt/report_metrics.hpp"

namespace mtasts::tlsrpt {

struct ReportSenderOptions {
  ReporterIdentity identity;
  MailIdentity mail;
  RetryPolicy retry;
  UnixSeconds max_delay = 4 * 3600;  // tlsrpt_report_delay
  int catch_up_days = 3;             // days before yesterday still reported after a downtime
  int keep_state_days = 31;          // hard bound on the report state of a day
  std::size_t max_in_flight = 2;     // tlsrpt_report_parallel: deliveries at a time
  std::chrono::milliseconds https_timeout{60'000};
  UnixSeconds stale_claim_after = 3600;
  UnixSeconds max_sleep = 3600;  // the timer re-plans at least this often (clock jumps)
  std::function<std::uint64_t()> random;           // default: OpenSSL RAND_bytes
  std::function<bool(std::int64_t)> process_alive;  // default: kill(pid, 0)
  std::int64_t pid = 0;                             // default: getpid()
  ReportMetrics metrics;  // default: detached (counted nowhere); bumped on the loop only
};

struct ReportSenderDeps {
  const Clock& clock;
  Scheduler& scheduler;
  net::TaskRunner& worker;
  net::DnsClient& dns;
  net::HttpsClient& https;
  MailSender& mail;
  DayStore& days;
  ReportStateStore* state;  // null only for a dry run on a state_dir without reports yet
};

struct ManualRun {
  UtcDay day;
  std::string domain;  // "" = every domain of the day
  bool dry_run = false;
  std::string out_dir;  // dry run: the .json.gz and .eml files go here (must exist)
  // Each line of what happened, as it happens (then RunSummary.lines stays empty: a run over
  // many domains keeps no line per domain in memory).
  std::function<void(const std::string&)> on_line;
};

struct RunSummary {
  std::uint64_t domains = 0;    // report domains looked at
  std::uint64_t built = 0;      // reports built and stored by this run (dry run: written)
  std::uint64_t reused = 0;     // reports found stored and reused
  std::uint64_t no_record = 0;  // domains without a usable TLSRPT record: no report
  std::uint64_t errors = 0;     // reports that could not be built, store errors
  std::uint64_t delivered = 0;  // deliveries made by this run
  std::uint64_t failed = 0;     // attempts of this run that failed (retried later or given up)
  std::uint64_t files = 0;      // dry run: files written
  std::vector<std::string> lines;  // what happened, one line each (without ManualRun.on_line)
};

class ReportSender {
 public:
  ReportSender(ReportSenderDeps deps, ReportSenderOptions options);
  ~ReportSender();
  ReportSender(const ReportSender&) = delete;
  ReportSender& operator=(const ReportSender&) = delete;

  // Daemon mode: plans, builds and delivers on its own timer until stop().
  void start();
  // Takes no new work; `done` runs once nothing is in flight, or at `bound` (the deliveries
  // still running are cancelled: sendmail killed; their claims are retried by the next run,
  // the duplicate window).
  void stop(std::chrono::milliseconds bound, std::function<void()> done);
  // Manual mode: one run over `run.day`; `done` gets the summary.
  void runManual(ManualRun run, std::function<void(RunSummary)> done);

  struct Counters {
    std::uint64_t built = 0, no_record = 0, build_errors = 0, delivered = 0, retried = 0, given_up = 0;
  };
  const Counters& counters() const { return counters_; }
  std::size_t inFlight() const { return in_flight_.size(); }
  // The longest single callback of the sender on the loop so far (what a socketmap query
  // could have waited behind it).
  std::chrono::microseconds longestLoopStep() const { return longest_step_; }

 private:
  struct InFlight {
    ClaimedDelivery item;
    RequestHandle handle;
  };
  struct Attempt {
    bool ok = false;
    bool permanent = false;  // never retried (no TLSRPT record, a mail that cannot be composed)
    std::string error;
    std::vector<std::pair<int, Delivery>> destinations;  // a lookup that found its record
  };

  // Wraps a loop callback: skipped once the sender is gone, timed for longestLoopStep().
  template <typename Fn>
  auto callback(Fn fn) {
    return [this, alive = std::weak_ptr<bool>(alive_), fn = std::move(fn)](auto&&... args) mutable {
      const auto live = alive.lock();
      if (!live) return;
      const auto start = std::chrono::steady_clock::now();
      fn(std::forward<decltype(args)>(args)...);
      noteStep(std::chrono::steady_clock::now() - start);
    };
  }
  void noteStep(std::chrono::steady_clock::duration took);

  void pump();
  void turn();  // pump() on the next loop turn
  // work() on the TaskRunner (it must not touch *this), then done() on the loop.
  void post(std::function<void()> work, std::function<void()> done);
  ClaimRules claimRules(UnixSeconds now) const;
  void armTimer();
  void finishStop();

  void startPlan();
  void startBuildStep(UtcDay day);
  void onNextDomain(UtcDay day, NextDomain next);
  void resolveRua(UtcDay day, const std::string& domain, const std::optional<std::string>& carried,
                  std::function<void(std::optional<RuaDecision>, std::string why_none)> then);
  void storeDomain(UtcDay day, const std::string& domain, RuaDecision rua);
  void skipDomain(UtcDay day, const std::string& domain, const std::string& why);
  void buildDone(UtcDay day);
  // Dry run: writes the stored report's files, or (when none is stored) resolves the record
  // and writes a freshly built one; nothing is stored.
  void writeDryRun(UtcDay day, const std::string& domain, std::optional<std::string> carried,
                   std::optional<RuaDecision> rua);

  void startClaim();
  void startDelivery(ClaimedDelivery item);
  void startHttps(const std::string& key);
  void complete(const std::string& key, Attempt attempt);
  void maybeFinishManual();
  void noteLine(std::string line);

  ReportSenderDeps deps_;
  ReportSenderOptions options_;
  std::uint64_t owner_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool started_ = false;
  bool stopping_ = false;
  std::function<void()> stop_done_;
  RequestHandle stop_timer_;
  RequestHandle timer_;
  RequestHandle turn_timer_;
  std::size_t jobs_ = 0;  // worker jobs whose completion has not run

  // planning and building
  bool planning_ = false;
  bool plans_stale_ = true;
  UnixSeconds replan_at_ = 0;
  UnixSeconds build_retry_at_ = 0;
  std::map<UtcDay, DayPlan> plans_;  // open days (daemon)
  bool building_ = false;
  RequestHandle build_lookup_;
  std::uint64_t unsaved_skips_ = 0;

  // deliveries
  bool claiming_ = false;
  bool scan_dirty_ = true;
  bool claim_exhausted_ = false;
  std::optional<UnixSeconds> next_due_;
  std::string scan_cursor_;
  std::map<std::string, InFlight> in_flight_;

  // manual mode
  std::optional<ManualRun> manual_;
  std::function<void(RunSummary)> manual_done_;
  RunSummary summary_;
  UnixSeconds manual_since_ = 0;  // attempts since then are this run's
  std::string manual_cursor_;
  bool manual_built_ = false;
  bool summarizing_ = false;

  Counters counters_;
  std::chrono::microseconds longest_step_{0};
};

}  // namespace mtasts::tlsrpt
