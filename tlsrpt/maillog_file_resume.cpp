#include "tlsrpt/maillog_file_resume.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::tlsrpt {

namespace {

constexpr std::size_t Tail = FilePosition::TailBytes;

// Reads exactly `n` bytes at `offset` (fewer only at the end of the file); false on error.
bool preadAll(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return true;
}

bool compressedName(std::string_view name) {
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

std::pair<std::string, std::string> splitPath(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Names in the directory of `path` that look like rotations of it, at most MaxSiblings.
std::vector<std::string> siblingPaths(const std::string& path) {
  const auto [dir, base] = splitPath(path);
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base) continue;
    if (name[base.size()] != '.' && name[base.size()] != '-') continue;
    if (compressedName(name)) continue;
    out.push_back(dir + "/" + std::string(name));
    if (out.size() == MaxSiblings) break;
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());  // readdir order is arbitrary; tests want one answer
  return out;
}

}  // namespace

std::optional<LogFile> LogFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int saved = errno;
    ::close(fd);
    errno = S_ISREG(st.st_mode) ? saved : EINVAL;
    return std::nullopt;
  }
  LogFile f;
  f.fd_ = fd;
  f.device_ = static_cast<std::uint64_t>(st.st_dev);
  f.inode_ = static_cast<std::uint64_t>(st.st_ino);
  f.path_ = path;
  return f;
}

LogFile& LogFile::operator=(LogFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    device_ = other.device_;
    inode_ = other.inode_;
    path_ = std::move(other.path_);
  }
  return *this;
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

off_t LogFile::size() const {
  struct stat st {};
  return ::fstat(fd_, &st) == 0 ? st.st_size : -1;
}

std::string readHead(const LogFile& file) {
  std::string head;
  if (!preadAll(file.fd(), 0, Tail, head)) head.clear();
  return head;
}

bool matchesPosition(const LogFile& file, const FilePosition& position, std::string* tail) {
  const off_t size = file.size();
  if (size < 0 || static_cast<std::uint64_t>(size) < position.offset) return false;
  const std::size_t n = position.hashLength();
  std::string bytes;
  if (!preadAll(file.fd(), position.offset - n, n, bytes) || bytes.size() != n) return false;
  if (tailHash(bytes) != position.tail_hash) return false;
  if (position.offset > n) {  // the head is another range only past the first TailBytes
    std::string head;
    if (!preadAll(file.fd(), 0, n, head) || head.size() != n || tailHash(head) != position.head_hash) return false;
  } else if (position.head_hash != position.tail_hash) {
    return false;
  }
  if (tail != nullptr) *tail = std::move(bytes);
  return true;
}

std::optional<LogFile> findRotated(const std::string& path, const FilePosition& position, std::string* tail) {
  std::optional<LogFile> copy;
  std::string copy_tail;
  for (const std::string& candidate : siblingPaths(path)) {
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const bool renamed = static_cast<std::uint64_t>(st.st_dev) == position.device &&
                         static_cast<std::uint64_t>(st.st_ino) == position.inode;
    if (!renamed && (copy || position.offset == 0)) continue;  // offset 0 matches any file
    auto file = LogFile::open(candidate);
    std::string bytes;
    if (!file || !matchesPosition(*file, position, &bytes)) continue;
    if (file->sameFile(position.device, position.inode)) {
      if (tail != nullptr) *tail = std::move(bytes);
      return file;
    }
    copy = std::move(file);
    copy_tail = std::move(bytes);
  }
  if (copy && tail != nullptr) *tail = std::move(copy_tail);
  return copy;
}

std::uint64_t endOfLastLine(const LogFile& file, std::size_t max_back, std::string* tail) {
  const off_t size = file.size();
  std::string bytes;
  const auto end = static_cast<std::uint64_t>(std::max<off_t>(size, 0));
  const std::uint64_t back = std::min<std::uint64_t>(end, max_back + Tail);
  if (!preadAll(file.fd(), end - back, static_cast<std::size_t>(back), bytes) || bytes.size() != back) {
    bytes.clear();  // shrunk meanwhile: start at the end as it was; the reader sees the truncation
  }
  std::uint64_t start = end;
  if (!bytes.empty() && bytes.back() != '\n') {
    // A line is being written: start at its beginning, so that it is read once complete. A
    // last line longer than max_back is over any line bound: start after it.
    const auto nl = bytes.rfind('\n');
    if (nl != std::string::npos && bytes.size() - nl - 1 <= max_back) {
      start = end - back + nl + 1;
    } else if (nl == std::string::npos && back == end) {
      start = 0;
    }
  }
  if (tail != nullptr) {
    const auto before = static_cast<std::size_t>(std::min<std::uint64_t>(start - (end - back), bytes.size()));
    const std::size_t n = std::min(before, Tail);
    *tail = bytes.substr(before - n, n);
  }
  return start;
}

ResumePlan planResume(const std::string& path, const std::optional<FilePosition>& stored) {
  ResumePlan plan;
  plan.current = LogFile::open(path);
  if (!stored) {
    plan.start = ResumePlan::Start::AtEnd;
    plan.reason = plan.current ? "no stored position: from the end" : "no stored position, no file: from its start once it appears";
    return plan;
  }
  const FilePosition& p = *stored;
  const bool current_same = plan.current && plan.current->sameFile(p.device, p.inode);
  if (current_same && matchesPosition(*plan.current, p, &plan.current_tail)) {
    plan.start = ResumePlan::Start::AtOffset;
    plan.current_at = p;
    plan.reason = "same file";
    return plan;
  }
  std::string rotated_tail;
  auto rotated = findRotated(path, p, &rotated_tail);
  const bool renamed = rotated && rotated->sameFile(p.device, p.inode);
  // A copy put at the path (content matches under another inode) continues where we were;
  // at offset 0 every file "matches", so only a rename counts there.
  if (!renamed && !current_same && plan.current && p.offset > 0 &&
      matchesPosition(*plan.current, p, &plan.current_tail)) {
    plan.start = ResumePlan::Start::AtOffset;
    plan.current_at = p;
    plan.current_at.device = plan.current->device();
    plan.current_at.inode = plan.current->inode();
    plan.reason = "same content under another inode";
    return plan;
  }
  // The current file, when its start is the stored one, must not be read again from 0.
  bool current_is_ours = false;
  if (plan.current && p.offset > 0) {
    const std::string head = readHead(*plan.current);
    current_is_ours = head.size() >= p.hashLength() && tailHash(std::string_view(head).substr(0, p.hashLength())) == p.head_hash;
  }
  if (rotated) {
    plan.finish_tail = std::move(rotated_tail);
    plan.finish_is_copy = !rotated->sameFile(p.device, p.inode);
    plan.reason = std::string(plan.finish_is_copy ? "copy " : "rotated file ") + rotated->path() +
                  " finished first, then the file from its start";
    plan.finish = std::move(rotated);
    plan.finish_at = p;
    plan.finish_at.device = plan.finish->device();
    plan.finish_at.inode = plan.finish->inode();
    // After copytruncate the file at the path starts with new lines (other timestamps). One
    // that still starts like ours was changed in place: its lines were in the copy.
    plan.start = current_is_ours ? ResumePlan::Start::AtEnd : ResumePlan::Start::AtZero;
    return plan;
  }
  if (current_is_ours) {
    plan.start = ResumePlan::Start::AtEnd;
    plan.reason = "file changed in place (same start, other bytes at the offset): from the end";
  } else {
    plan.start = ResumePlan::Start::AtZero;
    plan.reason = plan.current ? "rotated or truncated, old lines not found: the file from its start"
                               : "rotated, old lines not found, no file: from its start once it appears";
  }
  return plan;
}

}  // namespace mtasts::tlsrpt
