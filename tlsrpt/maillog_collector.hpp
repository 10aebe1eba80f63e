// MaillogCollector: runs one mail-log source (file or journal) and its MaillogPump on a thread
// of its own, so that reading, parsing and correlating (catching up a day of log costs
// seconds of CPU; a cold page cache or the journal's mmap can wait on the disk) never holds up
// the event loop. The thread owns the source (sd-journal: one thread for its whole life),
// waits on its wakeup descriptor and a stop eventfd with a bounded poll, and hands batches to
// the sink on that thread. start()/stop()/stats() are for the owner's thread; errors logged.
#pragma once

#include "common/clock.hpp"
#include "tlsrpt/maillog_pump.hpp"
#include "tlsrpt/maillog_source.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mtasts::tlsrpt {

struct MaillogCollectorOptions {
  MaillogPumpOptions pump;
  int poll_interval_ms = 1000;  // wakeup without inotify / journal events (fallback)
  // After a cycle, wakeups wait this long, so that a busy log (one inotify event per write)
  // is read in bursts: at most ~1000/coalesce_ms cycles a second. The stop is not delayed.
  int coalesce_ms = 100;
};

struct MaillogCollectorStats {
  bool running = false;          // the thread runs (false: not started, stopped, or failed)
  std::string error;             // why the source could not start, if it could not
  MaillogPumpStats pump;
  MaillogSourceCounters source;
  MaillogCounters sessions;      // the correlator's counters
  bool saw_tlsrpt_lines = false; // "TLSRPT:" lines: this Postfix (3.10+) reports by itself
};

class MaillogCollector {
 public:
  // The clock must outlive the collector; policy_for/next_hop_for hooks in the options run
  // on the collector's thread.
  MaillogCollector(std::unique_ptr<MaillogSource> source, MaillogCollectorOptions options, MaillogSink sink,
                   const Clock& clock);
  ~MaillogCollector();  // stop()s
  MaillogCollector(const MaillogCollector&) = delete;
  MaillogCollector& operator=(const MaillogCollector&) = delete;

  // The key the positions of this source are stored under (MaillogSource::key()).
  const std::string& key() const { return key_; }

  // Starts the thread. `stored` is the record last stored under key() (empty: none); an
  // undecodable one is logged and treated as none. Fails only if the thread cannot start.
  Result<void> start(std::string_view stored);

  // Wakes the thread; it hands what it read since the last batch to the sink (one last
  // batch, possibly not quiescent), closes the source and ends. Joins. Idempotent.
  void stop();

  MaillogCollectorStats stats() const;

 private:
  void run(MaillogPosition resume);
  void publish(const MaillogPump& pump);
  int waitMs(const MaillogPump& pump) const;

  std::unique_ptr<MaillogSource> source_;
  MaillogCollectorOptions options_;
  MaillogSink sink_;
  const Clock& clock_;
  std::string key_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex stats_mutex_;
  MaillogCollectorStats stats_;
};

}  // namespace mtasts::tlsrpt
