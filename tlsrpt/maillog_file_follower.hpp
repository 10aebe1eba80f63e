// MaillogFileFollower: a MaillogSource that follows one log file like `tail -F`: complete lines
// only, rotation by rename + create (the renamed file is finished through the still-open
// descriptor, then the new file is read from 0), by copytruncate (the copy is found and
// finished from the old offset when it is still beside the file, then the file from 0; seen
// after every read by the bytes before the offset, also when new lines already reach past
// it), and a file that does not exist yet (waited for). Wakeups from inotify (the file: IN_MODIFY,
// IN_MOVE_SELF, IN_DELETE_SELF, IN_ATTRIB; its directory: IN_CREATE, IN_MOVED_TO/FROM,
// IN_DELETE); the caller also polls. One thread; errors logged, counted, retried.
#pragma once

#include "tlsrpt/maillog_file_resume.hpp"
#include "tlsrpt/maillog_line_buffer.hpp"
#include "tlsrpt/maillog_source.hpp"

#include <optional>
#include <string>

namespace mtasts::tlsrpt {

struct MaillogFileOptions {
  std::string path;                 // absolute path of the log file
  std::size_t max_line = 16384;     // longer lines are skipped and counted
  std::size_t read_size = 65536;    // bytes per read(2)
  // After a rename, the old file is read until the new one has data (the writer moved), or
  // for at most this long while the new one stays empty or missing: a writer that reopens
  // later than that loses what it still writes to the old file.
  UnixSeconds rotate_wait = 10;
  bool use_inotify = true;          // false: the caller's polling alone
};

class MaillogFileFollower final : public MaillogSource {
 public:
  explicit MaillogFileFollower(MaillogFileOptions options);
  ~MaillogFileFollower() override;
  MaillogFileFollower(const MaillogFileFollower&) = delete;
  MaillogFileFollower& operator=(const MaillogFileFollower&) = delete;

  Result<void> start(const MaillogPosition& resume, UnixSeconds now) override;
  ReadOutcome read(MaillogVisitor& visitor, std::size_t max_entries, UnixSeconds now) override;
  MaillogPosition position() override;
  int waitFd() const override { return inotify_fd_; }
  void clearWakeup() override;
  std::string key() const override { return "file:" + options_.path; }
  MaillogSourceCounters counters() const override;

  // For tests and logs: the file being read (empty while waiting for the path).
  std::string currentPath() const { return file_ ? file_->path() : std::string(); }
  bool finishing() const { return mode_ == Mode::Finishing; }

 private:
  enum class Mode : std::uint8_t { Following, Finishing, Waiting };

  bool fill();                         // one pread into the buffer; false at the end / error
  bool atEnd(UnixSeconds now);         // rotation / truncation checks; true: read again
  bool contentMoved();                 // the bytes before the read offset changed (truncated)
  void onTruncated();
  bool switchToPath(bool at_end);      // opens the path, from 0 (or its end); false if missing
  void follow(LogFile file, Mode mode);
  void watchFile();

  MaillogFileOptions options_;
  MaillogLineBuffer buffer_;
  std::optional<LogFile> file_;
  Mode mode_ = Mode::Waiting;
  bool finish_is_copy_ = false;
  bool after_finish_at_end_ = false;   // the resume plan's start for the file after `finish`
  UnixSeconds rotated_at_ = 0;
  bool read_failed_ = false;           // a pread failed in this read() call
  std::string head_;                   // the current file's first bytes, for position()
  std::optional<FilePosition> last_position_;  // position() while waiting for the path
  MaillogSourceCounters counters_;
  int inotify_fd_ = -1;
  int file_watch_ = -1;
};

}  // namespace mtasts::tlsrpt
