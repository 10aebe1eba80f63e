// MaillogAggregateSink: the MaillogSink (maillog_pump.hpp) of the running daemon. It counts a
// mail-log batch's sessions into the DayAggregate together with the batch's source position
// (addBatch: one critical section, so one commit takes both or neither), under the A-label of
// the policy domain Postfix reports for. One source per Postfix: a log that shows Postfix
// 3.10+ "TLSRPT:" lines while the datagram socket is running is that Postfix's own report
// stream, so its sessions are not counted (only its position is stored), logged once; the
// fact is stored too, so a restart skips such a log from its first batch. Called on the
// mail-log collector's thread; counters are atomics for the metrics reader.
#pragma once

#include "tlsrpt/day_aggregate.hpp"
#include "tlsrpt/maillog_pump.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mtasts::tlsrpt {

// The position record that says a source's log showed "TLSRPT:" lines (stored as "1").
std::string tlsrptLinesMarkerName(std::string_view source_key);

struct MaillogSinkCounters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> sessions{0};          // handed to the aggregate
  std::atomic<std::uint64_t> unreportable{0};      // IP-literal or invalid next hops (Postfix skips them)
  std::atomic<std::uint64_t> one_source_skipped{0};  // sessions left to the datagram socket
  std::atomic<std::uint64_t> refused_batches{0};   // the aggregate refused the position
};

// The sessions of a batch as the aggregate takes them; unreportable ones are left out and
// counted in `unreportable`. Strings are moved from.
std::vector<DayAggregate::SourcedSession> sourcedSessions(std::vector<MaillogSession>& sessions,
                                                          std::uint64_t& unreportable);

class MaillogAggregateSink {
 public:
  // datagrams_running: whether the datagram socket is being read now (any thread may ask).
  // marker_stored: the store already holds tlsrptLinesMarkerName(key) for this source.
  MaillogAggregateSink(DayAggregate& aggregate, std::function<bool()> datagrams_running, bool marker_stored);

  void operator()(MaillogBatch&& batch);

  const MaillogSinkCounters& counters() const { return counters_; }

 private:
  DayAggregate& aggregate_;
  std::function<bool()> datagrams_running_;
  bool marker_ = false;         // this source's log showed TLSRPT lines (now or before)
  bool marker_stored_ = false;  // ... and the store has or will have the marker
  bool skip_logged_ = false;
  MaillogSinkCounters counters_;
};

}  // namespace mtasts::tlsrpt
