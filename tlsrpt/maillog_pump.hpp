// MaillogPump: reads a MaillogSource, parses each line (postfix::parseMaillogLine) or journal
// entry (parseMaillogMessage), feeds the session correlator with the line's own time, and
// cuts the stream into MaillogBatch: the sessions some entries produced together with the
// source position just after those entries, which the sink stores in ONE transaction (counts
// and position together: a restart neither loses nor repeats a counted line). Synchronous and
// single-threaded: MaillogCollector runs it on its thread; tests call cycle() directly.
#pragma once

#include "common/clock.hpp"
#include "tlsrpt/maillog_sessions.hpp"
#include "tlsrpt/maillog_source.hpp"
#include "tlsrpt/maillog_timestamp.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mtasts::tlsrpt {

struct MaillogBatch {
  std::vector<MaillogSession> sessions;  // in log order
  std::string position_key;              // MaillogSource::key(): store the position under it
  MaillogPosition position;              // just after the last entry read for this batch
  std::uint64_t entries = 0;             // entries read for this batch (all programs)
  // No handshake was waiting for its status line at the cut, so a restart from `position`
  // loses nothing in flight. false: a forced cut (see MaillogPumpOptions::quiescent_*); a
  // restart from it may miss the sessions of in_flight handshakes.
  bool quiescent = true;
  std::size_t in_flight = 0;
  // "TLSRPT:" lines were seen in this run: the Postfix writing this log is 3.10+ and reports
  // itself; with the datagram socket also configured the sink counts these sessions not at
  // all (and still stores the position).
  bool saw_tlsrpt_lines = false;
};

// Called on the pump's thread with each batch, in order. It may block (back-pressure: the
// pump waits, the socketmap loop does not). Each position supersedes the previous one; a
// sink may merge consecutive batches into one transaction (keep the last position). It must
// not throw.
using MaillogSink = std::function<void(MaillogBatch&&)>;

struct MaillogPumpOptions {
  MaillogSessionsConfig sessions;
  UnixSeconds batch_interval = 1;          // a batch is due this long after its first entry
  std::size_t max_batch_entries = 200000;  // ... or after this many entries (catching up)
  std::size_t max_batch_sessions = 10000;  // ... or this many sessions
  // Once due, the cut waits for a point where no handshake waits for its status line (so a
  // restart there loses nothing in flight), for at most this many more entries or seconds.
  std::size_t quiescent_entries = 20000;
  UnixSeconds quiescent_wait = 10;
  std::size_t read_chunk = 4096;           // entries per MaillogSource::read()
  std::size_t max_cycle_entries = 65536;   // cycle() returns after about this many
};

struct MaillogPumpStats {
  std::uint64_t entries = 0;
  std::uint64_t postfix_events = 0;     // entries of smtp(8)/tlsproxy(8)
  std::uint64_t untimed = 0;            // entries whose stamp did not parse: clock time used
  std::uint64_t batches = 0;
  std::uint64_t forced_cuts = 0;        // batches cut with handshakes in flight
  std::uint64_t sessions = 0;
};

class MaillogPump final : private MaillogVisitor {
 public:
  MaillogPump(MaillogSource& source, MaillogPumpOptions options, MaillogSink sink, const Clock& clock);

  // Reads what is there now, up to max_cycle_entries, and hands over the batches that are
  // due. True when the source has more right away (call again before waiting). The first
  // call first hands an empty batch with the start position (see cycle()).
  bool cycle();
  // Hands over what was read since the last batch, quiescent or not (shutdown).
  void flush();
  // The latest time cycle() should run again though no wakeup came (a batch comes due);
  // 0 when nothing is pending.
  UnixSeconds nextDue() const;

  const MaillogPumpStats& stats() const { return stats_; }
  const MaillogSessions& correlator() const { return sessions_; }

 private:
  bool line(std::string_view line) override;
  bool message(std::string_view ident, std::uint32_t pid, std::string_view message, UnixSeconds at) override;
  bool feed(const postfix::MaillogEvent& event, std::optional<UnixSeconds> at);
  bool afterEntry(bool state_changed);
  void cut(bool forced);

  MaillogSource& source_;
  MaillogPumpOptions options_;
  MaillogSink sink_;
  const Clock& clock_;
  MaillogSessions sessions_;
  MaillogTimestamps timestamps_;
  MaillogBatch batch_;
  MaillogPumpStats stats_;
  UnixSeconds now_ = 0;          // clock time of this cycle
  UnixSeconds batch_since_ = 0;  // clock time of the batch's first entry
  bool due_ = false;
  UnixSeconds due_since_ = 0;
  std::size_t due_entries_ = 0;  // entries read since due
  bool quiescent_ = true;        // as of the last state change
  bool cut_now_ = false;
  bool cut_forced_ = false;
  bool started_ = false;
};

}  // namespace mtasts::tlsrpt
