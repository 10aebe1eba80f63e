#include "tlsrpt/maillog_file_follower.hpp"

#include "common/log.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace mtasts::tlsrpt {

namespace {

constexpr std::size_t Tail = FilePosition::TailBytes;

std::shared_ptr<spdlog::logger> logger() { return moduleLogger("maillog"); }

std::string directoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

MaillogFileFollower::MaillogFileFollower(MaillogFileOptions options)
    : options_(std::move(options)), buffer_(options_.max_line, options_.read_size) {
  if (!options_.use_inotify) return;
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    logger()->warn("mail log inotify unavailable, polling only error={}", std::strerror(errno));
    return;
  }
  // Directory events announce a new file at the path (rotation, a late first creation).
  const std::string dir = directoryOf(options_.path);
  if (::inotify_add_watch(inotify_fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
    logger()->warn("mail log directory not watched, polling only dir={} error={}", escapeForLog(dir),
                   std::strerror(errno));
  }
}

MaillogFileFollower::~MaillogFileFollower() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

Result<void> MaillogFileFollower::start(const MaillogPosition& resume, UnixSeconds now) {
  if (options_.path.empty() || options_.path.front() != '/') {
    return fail(ErrorCode::InvalidInput, "mail log path must be absolute: " + options_.path);
  }
  std::optional<FilePosition> stored;
  if (const auto* f = std::get_if<FilePosition>(&resume)) stored = *f;
  ResumePlan plan = planResume(options_.path, stored);
  logger()->info("mail log resume path={} stored=\"{}\" rule=\"{}\"", escapeForLog(options_.path),
                 describeMaillogPosition(resume), plan.reason);
  rotated_at_ = now;
  if (plan.finish) {
    buffer_.reset(plan.finish_at.offset, plan.finish_tail);
    finish_is_copy_ = plan.finish_is_copy;
    after_finish_at_end_ = plan.start == ResumePlan::Start::AtEnd;
    follow(std::move(*plan.finish), Mode::Finishing);
    return {};
  }
  if (!plan.current) {
    mode_ = Mode::Waiting;  // read from 0 once it appears: every line of it is new
    if (stored) {
      counters_.lost_gaps += 1;
      last_position_ = *stored;
    }
    return {};
  }
  if (stored && plan.start != ResumePlan::Start::AtOffset) counters_.lost_gaps += 1;
  switch (plan.start) {
    case ResumePlan::Start::AtOffset:
      buffer_.reset(plan.current_at.offset, plan.current_tail);
      break;
    case ResumePlan::Start::AtZero:
      buffer_.reset(0);
      break;
    case ResumePlan::Start::AtEnd: {
      std::string tail;
      const std::uint64_t at = endOfLastLine(*plan.current, options_.max_line, &tail);
      buffer_.reset(at, tail);
      break;
    }
  }
  follow(std::move(*plan.current), Mode::Following);
  return {};
}

void MaillogFileFollower::follow(LogFile file, Mode mode) {
  file_ = std::move(file);
  mode_ = mode;
  // From 0 the head comes with the reads (fill()); further on it is read now, while the file
  // still holds what the position is about.
  head_ = buffer_.readOffset() > 0 ? readHead(*file_) : std::string();
  watchFile();
}

// Watches the inode of the open file through /proc (the path may already name another one).
void MaillogFileFollower::watchFile() {
  if (inotify_fd_ < 0 || !file_) return;
  const std::string proc = "/proc/self/fd/" + std::to_string(file_->fd());
  constexpr std::uint32_t mask = IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB;
  int wd = ::inotify_add_watch(inotify_fd_, proc.c_str(), mask);
  if (wd < 0) wd = ::inotify_add_watch(inotify_fd_, file_->path().c_str(), mask);
  if (file_watch_ >= 0 && wd != file_watch_) ::inotify_rm_watch(inotify_fd_, file_watch_);
  file_watch_ = wd;
}

void MaillogFileFollower::clearWakeup() {
  if (inotify_fd_ < 0) return;
  alignas(inotify_event) std::array<char, 4096> events{};
  while (::read(inotify_fd_, events.data(), events.size()) > 0) {
  }
}

ReadOutcome MaillogFileFollower::read(MaillogVisitor& visitor, std::size_t max_entries, UnixSeconds now) {
  if (mode_ == Mode::Waiting && !switchToPath(false)) return ReadOutcome::Idle;
  read_failed_ = false;
  std::size_t n = 0;
  int transitions = 0;  // file changes handled in this call: bounded, so is the call
  std::string_view line;
  while (n < max_entries) {
    if (buffer_.next(line)) {
      ++n;
      counters_.entries += 1;
      if (!visitor.line(line)) return ReadOutcome::Stopped;
      continue;
    }
    if (fill()) continue;
    if (read_failed_ || ++transitions > 16 || !atEnd(now)) return ReadOutcome::Idle;
  }
  return ReadOutcome::Limit;
}

bool MaillogFileFollower::fill() {
  if (!file_) return false;
  char* at = buffer_.writePtr();
  for (;;) {
    const ssize_t r = ::pread(file_->fd(), at, buffer_.writeSpace(), static_cast<off_t>(buffer_.readOffset()));
    // After every read, the bytes we hold before the offset must still be the file's: a
    // copytruncate followed by new lines up to or past our offset would otherwise read as
    // ours (or as nothing new), however long this thread was away. Checked after the read, so
    // that a truncation between the check and the read cannot slip through; one 256-byte
    // pread per read(2).
    if (r >= 0 && mode_ == Mode::Following && contentMoved()) {
      onTruncated();
      return true;
    }
    if (r > 0) {
      const std::uint64_t off = buffer_.readOffset();
      if (off < Tail && off == head_.size()) head_.append(at, std::min<std::size_t>(static_cast<std::size_t>(r), Tail - off));
      buffer_.produced(static_cast<std::size_t>(r));
      counters_.bytes += static_cast<std::uint64_t>(r);
      return true;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      read_failed_ = true;  // retried on the next read() call, not in a loop
      counters_.read_errors += 1;
      logger()->warn("mail log read failed path={} error={}", escapeForLog(file_->path()), std::strerror(errno));
    }
    return false;
  }
}

bool MaillogFileFollower::contentMoved() {
  const std::string_view held = buffer_.readTail();
  if (held.empty()) return false;
  const off_t size = file_->size();
  if (size >= 0 && static_cast<std::uint64_t>(size) < buffer_.readOffset()) return true;
  std::array<char, Tail> bytes{};
  const auto from = static_cast<off_t>(buffer_.readOffset() - held.size());
  const ssize_t r = ::pread(file_->fd(), bytes.data(), held.size(), from);
  return r == static_cast<ssize_t>(held.size()) && std::memcmp(bytes.data(), held.data(), held.size()) != 0;
}

// At the end of the open file: truncated? rotated? time to leave a renamed file?
bool MaillogFileFollower::atEnd(UnixSeconds now) {
  if (!file_) return false;
  const off_t size = file_->size();
  if (size >= 0 && static_cast<std::uint64_t>(size) > buffer_.readOffset()) return true;  // grew meanwhile
  if (size >= 0 && static_cast<std::uint64_t>(size) < buffer_.readOffset()) {
    if (mode_ == Mode::Following) {
      onTruncated();
      return true;
    }
    // A renamed file being finished shrank: nothing more to take from it.
  }
  struct stat st {};
  const bool exists = ::stat(options_.path.c_str(), &st) == 0;
  if (mode_ == Mode::Following) {
    if (exists && file_->sameFile(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino))) {
      return false;
    }
    // Renamed (or deleted) and maybe re-created: finish this one first.
    counters_.rotations += 1;
    mode_ = Mode::Finishing;
    finish_is_copy_ = false;
    after_finish_at_end_ = false;
    rotated_at_ = now;
    logger()->info("mail log rotated path={} offset={}", escapeForLog(options_.path), buffer_.readOffset());
  }
  // Finishing. A copy has no writer; a renamed file is left once the writer moved to the new
  // file (it has data: read the old one once more first, then nothing more can come) or
  // after rotate_wait.
  const bool writer_moved = exists && st.st_size > 0;
  if (!finish_is_copy_ && !writer_moved && now - rotated_at_ < options_.rotate_wait) return false;
  if (!finish_is_copy_ && fill()) return true;
  if (buffer_.partialBytes() > 0) counters_.partial_dropped += 1;
  const bool at_end = after_finish_at_end_;
  last_position_ = std::get<FilePosition>(position());
  const bool switched = switchToPath(at_end);
  if (!switched) {
    file_.reset();
    mode_ = Mode::Waiting;
  }
  return switched;
}

void MaillogFileFollower::onTruncated() {
  counters_.truncations += 1;
  const auto at = std::get<FilePosition>(position());
  std::string tail;
  auto copy = findRotated(options_.path, at, &tail);
  logger()->info("mail log truncated path={} offset={} copy={}", escapeForLog(options_.path), at.offset,
                 copy ? escapeForLog(copy->path()) : std::string("none"));
  if (buffer_.partialBytes() > 0 && !copy) counters_.partial_dropped += 1;
  if (copy && !copy->sameFile(file_->device(), file_->inode())) {
    counters_.copies_read += 1;
    buffer_.reset(at.offset, tail);
    finish_is_copy_ = true;
    after_finish_at_end_ = false;
    follow(std::move(*copy), Mode::Finishing);
    return;
  }
  // The lines between our offset and the truncation are gone (copytruncate without a copy
  // beside the file, e.g. compressed at once).
  counters_.lost_gaps += 1;
  buffer_.reset(0);
  head_.clear();
}

bool MaillogFileFollower::switchToPath(bool at_end) {
  auto file = LogFile::open(options_.path);
  if (!file) {
    if (errno != ENOENT) counters_.read_errors += 1;
    return false;
  }
  if (at_end) {
    std::string tail;
    const std::uint64_t off = endOfLastLine(*file, options_.max_line, &tail);
    buffer_.reset(off, tail);
  } else {
    buffer_.reset(0);
  }
  after_finish_at_end_ = false;
  finish_is_copy_ = false;
  follow(std::move(*file), Mode::Following);
  return true;
}

MaillogPosition MaillogFileFollower::position() {
  // Waiting for the path after a rotated file ended: still "at the end of that file", which a
  // restart finds again (or not, and then reads the new file from 0).
  if (!file_) return last_position_ ? MaillogPosition(*last_position_) : MaillogPosition(std::monostate{});
  const std::uint64_t offset = buffer_.consumedOffset();
  return filePositionAt(file_->device(), file_->inode(), offset, head_, buffer_.tail());
}

MaillogSourceCounters MaillogFileFollower::counters() const {
  MaillogSourceCounters c = counters_;
  c.overlong = buffer_.overlong();
  return c;
}

}  // namespace mtasts::tlsrpt
