// Where a followed log file resumes: the rules that decide, from a stored FilePosition and what
// the directory holds now, which file to finish first (a file renamed by rotation, or the copy
// copytruncate left) and where to start in the file at the path (the stored offset, 0, or the
// end), so that no line is read twice. File-system reads only (stat, open, pread, readdir of
// the log's directory); runs on the follower's thread. Failures to open are part of the plan
// (a missing file is waited for), never thrown.
#pragma once

#include "tlsrpt/maillog_position.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mtasts::tlsrpt {

// An open log file (read-only) with its identity. Move-only; closes on destruction.
class LogFile {
 public:
  LogFile() = default;
  static std::optional<LogFile> open(const std::string& path);  // nullopt: errno says why
  LogFile(LogFile&& other) noexcept { *this = std::move(other); }
  LogFile& operator=(LogFile&& other) noexcept;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  bool isOpen() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  std::uint64_t device() const { return device_; }
  std::uint64_t inode() const { return inode_; }
  const std::string& path() const { return path_; }
  bool sameFile(std::uint64_t device, std::uint64_t inode) const { return device_ == device && inode_ == inode; }
  // Current size (fstat); -1 on error.
  off_t size() const;

 private:
  int fd_ = -1;
  std::uint64_t device_ = 0, inode_ = 0;
  std::string path_;
};

// Whether `file` holds, at the stored position, the bytes the position was hashed from: the
// same first bytes and the same bytes before the offset. On a match `tail` (when given)
// receives those bytes before the offset, to seed a MaillogLineBuffer.
bool matchesPosition(const LogFile& file, const FilePosition& position, std::string* tail = nullptr);

// The first FilePosition::TailBytes bytes of `file` (fewer if it is shorter).
std::string readHead(const LogFile& file);

// Rotated siblings of `path`: regular files in the same directory named <base>.<suffix> or
// <base>-<suffix> (mail.log.1, mail.log-20250101), compressed ones (.gz .bz2 .xz .zst .lz4 .Z)
// left out, at most MaxSiblings looked at. Returns the one that matches `position`
// (matchesPosition), preferring one with the stored device and inode (a rename) over a
// copy; nullopt when none does.
inline constexpr std::size_t MaxSiblings = 64;
std::optional<LogFile> findRotated(const std::string& path, const FilePosition& position,
                                   std::string* tail = nullptr);

// What to do at start. `finish` (when set) is read from finish_at to its end first; then the
// file at the path, from `start` (or waited for, when it does not exist).
struct ResumePlan {
  enum class Start : std::uint8_t { AtOffset, AtZero, AtEnd };
  std::optional<LogFile> finish;
  FilePosition finish_at;
  std::string finish_tail;
  bool finish_is_copy = false;  // a copy (no writer) rather than a renamed file (writer may lag)

  std::optional<LogFile> current;  // nullopt: the path does not exist (yet)
  Start start = Start::AtEnd;      // for `current`; a file that appears later starts AtZero
  FilePosition current_at;         // AtOffset: where
  std::string current_tail;        // AtOffset: the bytes before it
  std::string reason;              // for the log: which rule applied
};

// The rules, in order (position = the stored one; "matches" = matchesPosition):
// 1. no stored position: the file at the path from its end (the start of its last, partial
//    line); a path that does not exist yet is read from 0 once it appears.
// 2. the file at the path matches (same inode, or a copy put there): continue at the offset.
// 3. a sibling matches (renamed by rotation, or copytruncate's copy): finish it from the
//    offset, then the file at the path from 0.
// 4. nothing matches and the file at the path starts with other bytes than the stored ones:
//    it is new to us (rotated, rotated twice, truncated and rewritten): from 0.
// 5. nothing matches but the file at the path starts with the stored bytes: it changed in
//    place (edited, truncated and regrown): from its end, so that no line is read twice.
ResumePlan planResume(const std::string& path, const std::optional<FilePosition>& stored);

// The offset of the start of the last line of `file` that has no '\n' yet (its size when the
// file ends in '\n'), looking back at most `max_back` bytes; `tail` gets the bytes before it.
std::uint64_t endOfLastLine(const LogFile& file, std::size_t max_back, std::string* tail);

}  // namespace mtasts::tlsrpt
