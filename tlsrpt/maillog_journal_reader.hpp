// MaillogJournalReader: a MaillogSource over the systemd journal (sd-journal, libsystemd):
// the entries of Postfix's smtp(8) and tlsproxy(8) processes of any instance, as
// (SYSLOG_IDENTIFIER, pid, MESSAGE, realtime) for parseMaillogMessage(). Resumes from a stored
// cursor. sd-journal objects belong to ONE thread for their whole life: start(), read() and
// the destructor must all run on the collector's thread. Errors are logged, counted, retried.
//
// Filter: sd_journal_add_match cannot wildcard SYSLOG_IDENTIFIER ("postfix/smtp",
// "postfix-out/smtp", "postfix/relay/smtp" ...), so the reader matches the kernel's process
// name, which Postfix's master(8) sets by exec'ing $daemon_directory/smtp or /tlsproxy:
// (_COMM=smtp OR _COMM=tlsproxy) OR SYSLOG_FACILITY=2 (mail: Postfix's default facility; it
// catches entries that journald stored without _COMM because the process had already
// exited). Then per entry, before reading MESSAGE: the ident's last component must be smtp
// or tlsproxy, and a _COMM, when present, must be smtp or tlsproxy too (an entry written by
// `logger -t postfix/smtp` carries _COMM=logger and is not taken for Postfix's).
#pragma once

#include "tlsrpt/maillog_source.hpp"

#include <string>
#include <vector>

struct sd_journal;

namespace mtasts::tlsrpt {

struct MaillogJournalOptions {
  // Where to read: the local system journal (default), or exactly these journal files
  // (tests, sd_journal_open_files), or a directory (sd_journal_open_directory).
  std::vector<std::string> files;
  std::string directory;
  std::size_t max_message = 16384;  // longer MESSAGE fields are skipped and counted
};

class MaillogJournalReader final : public MaillogSource {
 public:
  explicit MaillogJournalReader(MaillogJournalOptions options);
  ~MaillogJournalReader() override;
  MaillogJournalReader(const MaillogJournalReader&) = delete;
  MaillogJournalReader& operator=(const MaillogJournalReader&) = delete;

  // A stored cursor: sd_journal_seek_cursor, then the entry found there is skipped when
  // sd_journal_test_cursor says it is the cursor's own. When that entry is gone (vacuumed),
  // reading goes on at the first entry after the cursor's place in the journal, and the
  // entries vacuumed before they were read are lost (counted in lost_gaps, logged). No
  // cursor: from the end (the next entry written).
  Result<void> start(const MaillogPosition& resume, UnixSeconds now) override;
  ReadOutcome read(MaillogVisitor& visitor, std::size_t max_entries, UnixSeconds now) override;
  MaillogPosition position() override;
  int waitFd() const override { return wait_fd_; }
  void clearWakeup() override;
  std::string key() const override { return "journal"; }
  MaillogSourceCounters counters() const override { return counters_; }

 private:
  Result<void> open();
  bool visitCurrent(MaillogVisitor& visitor, bool& visited);  // false: the visitor stopped

  MaillogJournalOptions options_;
  sd_journal* journal_ = nullptr;
  int wait_fd_ = -1;
  bool on_entry_ = false;       // the journal's read pointer is on an entry we consumed
  bool pending_current_ = false;  // ... on an entry not yet consumed (cursor was gone)
  std::string cursor_;          // of the consumed entry under the pointer; "" = not yet read
  std::string start_cursor_;    // the stored cursor, until an entry is consumed
  MaillogSourceCounters counters_;
};

}  // namespace mtasts::tlsrpt
