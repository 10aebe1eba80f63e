#include "tlsrpt/maillog_journal_reader.hpp"

#include "common/log.hpp"
#include "postfix/maillog_syslog.hpp"

#include <systemd/sd-journal.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace mtasts::tlsrpt {

namespace {

std::shared_ptr<spdlog::logger> logger() { return moduleLogger("maillog"); }

std::string errorText(int r) { return std::strerror(r < 0 ? -r : r); }

// The value of FIELD in the current entry ("FIELD=value"); false when absent or unreadable.
bool field(sd_journal* j, const char* name, std::size_t name_len, std::string_view& value) {
  const void* data = nullptr;
  std::size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= name_len) return false;
  value = std::string_view(static_cast<const char*>(data) + name_len + 1, len - name_len - 1);
  return true;
}

bool ourProcess(std::string_view process) { return process == "smtp" || process == "tlsproxy"; }

bool parsePid(std::string_view text, std::uint32_t& pid) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  return ec == std::errc() && end == text.data() + text.size() && pid != 0;
}

}  // namespace

MaillogJournalReader::MaillogJournalReader(MaillogJournalOptions options) : options_(std::move(options)) {}

MaillogJournalReader::~MaillogJournalReader() {
  if (journal_ != nullptr) sd_journal_close(journal_);
}

Result<void> MaillogJournalReader::open() {
  int r = 0;
  if (!options_.files.empty()) {
    std::vector<const char*> paths;
    for (const auto& f : options_.files) paths.push_back(f.c_str());
    paths.push_back(nullptr);
    r = sd_journal_open_files(&journal_, paths.data(), 0);
  } else if (!options_.directory.empty()) {
    r = sd_journal_open_directory(&journal_, options_.directory.c_str(), 0);
  } else {
    r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
  }
  if (r < 0) {
    journal_ = nullptr;
    return fail(ErrorCode::Io, "cannot open the journal: " + errorText(r));
  }
  if (options_.files.empty() && options_.directory.empty() && sd_journal_has_runtime_files(journal_) <= 0 &&
      sd_journal_has_persistent_files(journal_) <= 0) {
    // Not an error (journald may not have written yet), but the usual cause is a user
    // outside the groups that may read the system journal: say so once.
    logger()->warn("no readable journal files: the daemon's user needs the group adm or systemd-journal");
  }
  // (_COMM=smtp OR _COMM=tlsproxy) OR SYSLOG_FACILITY=2: matches on one field are ORed,
  // matches on different fields ANDed, a disjunction ORs the two groups.
  if ((r = sd_journal_add_match(journal_, "_COMM=smtp", 0)) < 0 ||
      (r = sd_journal_add_match(journal_, "_COMM=tlsproxy", 0)) < 0 ||
      (r = sd_journal_add_disjunction(journal_)) < 0 ||
      (r = sd_journal_add_match(journal_, "SYSLOG_FACILITY=2", 0)) < 0) {
    return fail(ErrorCode::Internal, "journal match: " + errorText(r));
  }
  // Longer fields come back cut at this size: enough to see that MESSAGE is over the bound.
  sd_journal_set_data_threshold(journal_, options_.max_message + 16);
  wait_fd_ = sd_journal_get_fd(journal_);
  if (wait_fd_ < 0) {
    logger()->warn("journal gives no wakeup descriptor, polling only error={}", errorText(wait_fd_));
    wait_fd_ = -1;
  }
  return {};
}

Result<void> MaillogJournalReader::start(const MaillogPosition& resume, UnixSeconds) {
  if (auto opened = open(); !opened) return opened;
  const auto* stored = std::get_if<JournalPosition>(&resume);
  if (stored == nullptr) {
    // From the end: the pointer on the last entry (consumed by definition), next() is new.
    sd_journal_seek_tail(journal_);
    on_entry_ = sd_journal_previous(journal_) > 0;
    logger()->info("journal resume stored=none rule=\"from the end\"");
    return {};
  }
  start_cursor_ = stored->cursor;
  int r = sd_journal_seek_cursor(journal_, stored->cursor.c_str());
  if (r < 0) {
    logger()->warn("journal cursor unusable, from the end error={}", errorText(r));
    counters_.lost_gaps += 1;
    start_cursor_.clear();
    sd_journal_seek_tail(journal_);
    on_entry_ = sd_journal_previous(journal_) > 0;
    return {};
  }
  r = sd_journal_next(journal_);
  if (r > 0 && sd_journal_test_cursor(journal_, stored->cursor.c_str()) > 0) {
    on_entry_ = true;  // the last entry read before: skip it
    cursor_ = stored->cursor;
    logger()->info("journal resume rule=\"at the stored cursor\"");
  } else if (r > 0) {
    // The cursor's own entry is gone (vacuumed, or another journal): the one found is the
    // first after its place, not read yet.
    pending_current_ = true;
    counters_.lost_gaps += 1;
    logger()->warn("journal cursor not found, resuming at the next entry after its place; entries removed "
                   "before they were read are not counted");
  } else {
    logger()->info("journal resume rule=\"at the stored cursor, nothing after it yet\"");
  }
  return {};
}

void MaillogJournalReader::clearWakeup() {
  if (journal_ != nullptr) sd_journal_process(journal_);
}

ReadOutcome MaillogJournalReader::read(MaillogVisitor& visitor, std::size_t max_entries, UnixSeconds) {
  if (journal_ == nullptr) return ReadOutcome::Idle;
  std::size_t n = 0;
  while (n < max_entries) {
    if (pending_current_) {
      pending_current_ = false;
    } else {
      const int r = sd_journal_next(journal_);
      if (r < 0) {
        counters_.read_errors += 1;
        logger()->warn("journal read failed error={}", errorText(r));
        return ReadOutcome::Idle;
      }
      if (r == 0) return ReadOutcome::Idle;
    }
    on_entry_ = true;
    cursor_.clear();  // computed when position() asks
    start_cursor_.clear();
    bool visited = false;
    const bool go_on = visitCurrent(visitor, visited);
    if (visited) ++n;
    if (!go_on) return ReadOutcome::Stopped;
  }
  return ReadOutcome::Limit;
}

bool MaillogJournalReader::visitCurrent(MaillogVisitor& visitor, bool& visited) {
  std::string_view ident;
  if (!field(journal_, "SYSLOG_IDENTIFIER", 17, ident) || !ourProcess(postfix::postfixProcess(ident))) {
    return true;
  }
  std::string_view comm;
  if (field(journal_, "_COMM", 5, comm) && !ourProcess(comm)) return true;
  std::string_view message, pid_text;
  std::uint32_t pid = 0;
  if (!field(journal_, "MESSAGE", 7, message)) return true;
  if (message.size() > options_.max_message) {
    counters_.overlong += 1;
    return true;
  }
  if (!(field(journal_, "_PID", 4, pid_text) && parsePid(pid_text, pid)) &&
      !(field(journal_, "SYSLOG_PID", 10, pid_text) && parsePid(pid_text, pid))) {
    pid = 0;
  }
  std::uint64_t usec = 0;
  if (sd_journal_get_realtime_usec(journal_, &usec) < 0) usec = 0;
  visited = true;
  counters_.entries += 1;
  counters_.bytes += message.size();
  return visitor.message(ident, pid, message, static_cast<UnixSeconds>(usec / 1'000'000));
}

MaillogPosition MaillogJournalReader::position() {
  if (!on_entry_ || journal_ == nullptr) {
    if (!start_cursor_.empty()) return JournalPosition{start_cursor_};
    return std::monostate{};
  }
  if (cursor_.empty()) {
    char* c = nullptr;
    if (sd_journal_get_cursor(journal_, &c) < 0 || c == nullptr) {
      counters_.read_errors += 1;
      return start_cursor_.empty() ? MaillogPosition(std::monostate{}) : MaillogPosition(JournalPosition{start_cursor_});
    }
    cursor_ = c;
    std::free(c);
  }
  return JournalPosition{cursor_};
}

}  // namespace mtasts::tlsrpt
