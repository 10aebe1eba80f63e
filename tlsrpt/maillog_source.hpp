// MaillogSource: where mail-log text comes from (a followed file, the systemd journal), read in
// bounded steps by MaillogPump on the collector's thread: one source object is used by one
// thread only (sd-journal is not thread-safe). read() hands each line / entry to a visitor
// that may stop it after any entry; position() is then exactly after that entry. I/O errors
// are logged and counted, and read() returns Idle: the source retries on the next call.
#pragma once

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/maillog_position.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

class MaillogVisitor {
 public:
  virtual ~MaillogVisitor() = default;
  // One line of a log file (without '\n'). Return false to stop reading after it.
  virtual bool line(std::string_view line) = 0;
  // One journal entry: SYSLOG_IDENTIFIER, the pid, MESSAGE, its wall-clock time.
  virtual bool message(std::string_view ident, std::uint32_t pid, std::string_view message,
                       UnixSeconds at) = 0;
};

enum class ReadOutcome : std::uint8_t {
  Stopped,  // the visitor returned false
  Limit,    // max_entries were read; more may be there
  Idle,     // nothing more to read now: wait for waitFd() or the poll interval
};

struct MaillogSourceCounters {
  std::uint64_t entries = 0;        // lines / journal entries handed to the visitor
  std::uint64_t bytes = 0;          // bytes read (file)
  std::uint64_t overlong = 0;       // lines or messages over the bound, skipped
  std::uint64_t rotations = 0;      // renames / re-creations followed
  std::uint64_t truncations = 0;    // copytruncate (or other shrinking) seen
  std::uint64_t copies_read = 0;    // rotated copies found and finished after a truncation
  std::uint64_t partial_dropped = 0;  // an unterminated last line left behind in a finished file
  std::uint64_t lost_gaps = 0;      // times lines may have been lost (old lines not found)
  std::uint64_t read_errors = 0;    // failed reads / opens (retried)
};

class MaillogSource {
 public:
  virtual ~MaillogSource() = default;

  // Picks where to begin from a stored position (monostate: none stored, begin at the end of
  // what exists), logging which rule applied. An error means the source cannot work at all
  // (bad options); a missing file or journal is waited for instead.
  virtual Result<void> start(const MaillogPosition& resume, UnixSeconds now) = 0;

  // Hands at most max_entries entries to the visitor. `now` is wall time, for the bounded
  // waits (a rotated file is left after a while).
  virtual ReadOutcome read(MaillogVisitor& visitor, std::size_t max_entries, UnixSeconds now) = 0;

  // Just after the last entry handed to the visitor (or the start position).
  virtual MaillogPosition position() = 0;

  // A descriptor that becomes readable when there may be more to read (inotify, the
  // journal's); -1 when there is none and only polling works.
  virtual int waitFd() const = 0;
  // Consumes the wakeup (reads the inotify events / sd_journal_process).
  virtual void clearWakeup() = 0;

  // Identifies the source in the store ("file:/var/log/mail.log", "journal"): a position
  // stored under another key does not apply (the configured source changed).
  virtual std::string key() const = 0;
  virtual MaillogSourceCounters counters() const = 0;
};

}  // namespace mtasts::tlsrpt
