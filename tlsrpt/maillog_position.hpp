// Where a mail-log source stands: after the last line (file) or entry (journal) whose sessions
// were handed on. Stored in LMDB in the same transaction as the counts those lines produced,
// as a small versioned record (encodeMaillogPosition / decodeMaillogPosition, fuzzed: the
// bytes come back from disk and may be damaged or written by another version). Pure: no I/O.
// Decoding errors are InvalidInput with the reason; the caller then starts without a position.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace mtasts::tlsrpt {

// A followed file: which file (device + inode), how far (offset just after a '\n'), a hash of
// its first bytes and one of the bytes before the offset. A restart uses the hashes to tell
// the same file from one truncated and rewritten, one that reuses the inode number, or a
// rotated copy (copytruncate) of it.
struct FilePosition {
  static constexpr std::uint32_t TailBytes = 256;  // both hashes cover min(offset, TailBytes)

  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;
  std::uint64_t head_hash = 0;  // tailHash() of the file's first hashLength() bytes
  std::uint64_t tail_hash = 0;  // tailHash() of the hashLength() bytes before offset

  std::size_t hashLength() const { return offset < TailBytes ? static_cast<std::size_t>(offset) : TailBytes; }
  bool operator==(const FilePosition&) const = default;
};

// The systemd journal: the cursor of the last entry read (sd_journal_get_cursor).
struct JournalPosition {
  static constexpr std::size_t MaxCursor = 1024;  // systemd writes about 150 bytes
  std::string cursor;

  bool operator==(const JournalPosition&) const = default;
};

// monostate: no position (the source starts at the end of what exists).
using MaillogPosition = std::variant<std::monostate, FilePosition, JournalPosition>;

// FNV-1a 64 of the bytes: guards against a different file, not against an adversary (whoever
// can write the log file can do worse than fool this).
std::uint64_t tailHash(std::string_view bytes) noexcept;

// The position at `offset`, where `head` holds the file's first bytes and `tail` the bytes just
// before offset (only the first / last hashLength() bytes of each are used; the caller
// passes at least that many).
FilePosition filePositionAt(std::uint64_t device, std::uint64_t inode, std::uint64_t offset,
                            std::string_view head, std::string_view tail) noexcept;

// Record layout, version 1 (integers are unsigned LEB128, at most 10 bytes):
//   0x01 (version) 0x01 (file) device inode offset head_hash tail_hash (hashes: 8 bytes, little
//        endian)
//   0x01 (version) 0x02 (journal) length cursor-bytes (1..MaxCursor, printable ASCII)
//   0x01 (version) 0x00 (none)
// Nothing may follow. A newer version is refused (InvalidInput "newer"), never guessed at.
inline constexpr std::uint8_t MaillogPositionVersion = 1;
std::string encodeMaillogPosition(const MaillogPosition& position);
Result<MaillogPosition> decodeMaillogPosition(std::string_view bytes);

// "file dev=2049 ino=131 offset=5120" / "journal cursor=s=..." / "none", for logs.
std::string describeMaillogPosition(const MaillogPosition& position);

}  // namespace mtasts::tlsrpt
