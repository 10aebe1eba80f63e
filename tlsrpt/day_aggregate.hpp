// DayAggregate: the TLS-RPT session counts not yet committed, per UTC day of receipt (one
// reading of the injected Clock per add), report domain, policy descriptor and TLSRPT record.
// Producers on several threads add (the datagram reader thread, the event loop for own fetch
// failures and the mail log); the committer thread takes everything added so far with
// takeDelta(), an O(1) swap. One mutex guards the in-memory state and is never held across
// I/O (log lines are written after it is released), so no producer ever waits on the disk.
// The day bounds (DayLimits) count committed sessions too: seed() the day from the store.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/datagram_sessions.hpp"
#include "tlsrpt/day_entry.hpp"

namespace mtasts::tlsrpt {

// What the committer takes: the entries added since the last take (each entry's counts are
// a delta to add to the stored one) and the source positions set meanwhile (latest value per
// name), to be committed in the same transaction.
struct DayDelta {
  std::vector<DayEntry> entries;
  std::vector<std::pair<std::string, std::string>> positions;

  bool empty() const { return entries.empty() && positions.empty(); }
  std::uint64_t sessions() const;  // successful + failed of every entry
};

// Adds `from` to `into` (a failed commit's delta kept for the next attempt), with the row
// bound of `limits`. Positions of `from` win. Returns the failure counts sent to overflow rows.
std::uint64_t mergeDelta(DayDelta& into, DayDelta&& from, const DayLimits& limits);

// Source positions: a name of 1 to MaxPositionNameBytes bytes without NUL (the mail-log
// sources use "file:<path>" and "journal"), a value of at most MaxPositionBytes.
inline constexpr std::size_t MaxPositionNameBytes = 400;  // the LMDB key adds "position:"
inline constexpr std::size_t MaxPositionBytes = 4096;
bool isPositionName(std::string_view name) noexcept;

// Own failures: the failure-reason-code is the failure's text cut to this many bytes, made
// printable (control characters become spaces) and valid UTF-8.
inline constexpr std::size_t MaxOwnFailureReasonBytes = 256;

class DayAggregate {
 public:
  DayAggregate(const Clock& clock, DayLimits limits, CollectorStats& stats);
  DayAggregate(const DayAggregate&) = delete;
  DayAggregate& operator=(const DayAggregate&) = delete;

  // The sessions of a batch of datagrams, counted under today's day (one lock for the batch);
  // copied only where they make a new entry. Reader thread. The second form is for a
  // contiguous batch; the reader's batch mixes fresh parses and remembered ones.
  void addDatagrams(std::span<const DatagramSessions* const> batch);
  void addDatagrams(std::span<const DatagramSessions> batch);

  // A lookup answered without a policy because the fetch failed while nothing valid was
  // cached: one failure session of policy type sts for `domain` (A-label, as the lookup
  // normalised it), empty policy strings, mx hosts and TLSRPT record (the record is looked up
  // when the report is built), one row with `result` and `reason` as failure-reason-code.
  // InvalidInput (and counted) for a domain that is no hostname or a result that is not
  // sts-policy-fetch-error, sts-policy-invalid or sts-webpki-invalid. Event loop.
  Result<void> addOwnFailure(std::string_view domain, TlsRptResultType result, std::string_view reason);

  // Sessions from another source, counted under today's day: copied. Any thread.
  void addSessions(SessionSource source, std::string_view report_domain, std::string_view tlsrpt_record,
                   std::span<const SessionOutcome> sessions);

  // A batch of a source that keeps a position (the mail log, [9]): every session counted
  // under the UTC day of its own time (`at`: when the log says it happened, so a catch-up
  // after downtime lands in the right day; 0 = now), and the position set in the SAME
  // critical section, so a commit takes either both or neither: a restart from the stored
  // position neither loses nor repeats a counted session. InvalidInput (nothing counted) for
  // a position setPosition() would refuse. Any thread.
  struct SourcedSession {
    UnixSeconds at = 0;
    std::string report_domain;  // whose report: the policy domain Postfix reports for
    std::string tlsrpt_record;  // empty: looked up when the report is built
    SessionOutcome outcome;
  };
  Result<void> addBatch(SessionSource source, std::span<SourcedSession> sessions, std::string position_name,
                        std::string position_bytes);

  // A source's position (a file offset, a journal cursor) alone, committed with the counts
  // added before it, so a restart resumes where the committed counts end. InvalidInput unless the
  // name is 1 to 64 bytes of [a-z0-9_.:-] and the value at most MaxPositionBytes. Any thread.
  Result<void> setPosition(std::string name, std::string bytes);

  // Everything added since the last take. Committer thread.
  DayDelta takeDelta();
  // A taken delta's entries once committed: emptied here and their storage kept for the
  // delta after next, so that the reader thread does not grow a new vector (and fault in its
  // pages) every commit interval. Committer thread.
  void recycle(std::vector<DayEntry> entries);

  // A stored entry of a day the bounds still apply to (today): its domain and its policy
  // count against max_domains_per_day and max_policies_per_domain. Startup, before producers.
  void seed(const DayEntry& stored);

  const DayLimits& limits() const { return limits_; }
  std::size_t pendingEntries() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <typename T>
  using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;
  // Per day and domain: the digests of its entries, pending or committed, for the bounds,
  // and where its entries of the current delta are in entries_ (valid while `generation` is
  // the aggregate's: a take starts a new generation, so they need no clearing then).
  struct DomainState {
    std::vector<EntryDigest> digests;
    std::vector<std::uint32_t> pending;
    std::uint64_t generation = 0;
    bool overflow_logged = false;
  };
  struct DayState {
    StringMap<DomainState> domains;
    std::uint64_t generation = 0;  // the last generation that counted into this day
  };
  // Things to log once the mutex is released.
  struct Notes {
    std::vector<std::string> overflowed_domains;
    std::uint64_t dropped = 0;
    std::string dropped_example;
  };

  // mutex_ held. Counts one session; `policy` is copied when a new entry is made.
  void countLocked(UtcDay day, std::string_view domain, std::string_view record, const PolicyDescriptor& policy,
                   bool failed, const std::vector<FailureDetail>& rows, SessionSource source, Notes& notes);
  void setPositionLocked(std::string name, std::string bytes);
  DomainState* admitLocked(UtcDay day, std::string_view domain, Notes& notes);
  void pruneLocked(UtcDay today);
  void emit(Notes& notes);

  const Clock& clock_;
  DayLimits limits_;
  CollectorStats& stats_;

  mutable std::mutex mutex_;
  std::vector<DayEntry> entries_;
  std::vector<DayEntry> spare_;     // recycled storage for the next delta's entries_
  std::uint64_t generation_ = 1;    // the current delta's; takeDelta() starts the next
  std::map<std::int64_t, DayState> known_;  // day -> domain -> state
  std::vector<std::pair<std::string, std::string>> positions_;
  UnixSeconds last_drop_log_ = 0;  // drops are logged at most once a minute
  std::uint64_t drops_unlogged_ = 0;
};

}  // namespace mtasts::tlsrpt
