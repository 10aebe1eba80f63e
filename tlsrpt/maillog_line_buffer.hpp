// MaillogLineBuffer: cuts bytes read from a log file into complete lines, remembering the file
// offset after each one. A partial last line stays until its '\n' arrives; a line longer than
// max_line is skipped whole (its bytes are dropped as they come, counted in overlong()). Keeps
// the FilePosition::TailBytes bytes before the last line returned, so that a position can be
// hashed without reading back. Pure (the caller reads into writePtr()); owned by one reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt {

class MaillogLineBuffer {
 public:
  MaillogLineBuffer(std::size_t max_line, std::size_t read_size);

  // Starts over at file offset `offset`; `history` holds the bytes just before it (its last
  // TailBytes are kept for tail()). Drops everything held.
  void reset(std::uint64_t offset, std::string_view history = {});

  // Where the next read goes: writeSpace() >= read_size bytes.
  char* writePtr();
  std::size_t writeSpace() const { return buf_.size() - end_; }
  // `n` bytes were read into writePtr().
  void produced(std::size_t n) { end_ += n; }

  // The next complete line, without its '\n' (a '\r' before it stays: the parser ignores it).
  // Valid until the next call of writePtr() or reset(). False when only a partial line, or
  // nothing, is left.
  bool next(std::string_view& line);

  // File offset just after the last line returned or skipped.
  std::uint64_t consumedOffset() const { return skipping_ ? skip_from_ : base_ + consumed_; }
  // File offset of the next byte to read.
  std::uint64_t readOffset() const { return base_ + end_; }
  // Up to TailBytes bytes just before consumedOffset() (fewer only near the file's start).
  std::string_view tail() const;
  // Up to TailBytes bytes just before readOffset(): what the file must still hold there.
  std::string_view readTail() const;

  std::uint64_t overlong() const { return overlong_; }    // lines skipped for length
  std::size_t partialBytes() const { return end_ - (skipping_ ? end_ : consumed_); }
  bool skipping() const { return skipping_; }

 private:
  void compact();

  std::size_t max_line_;
  std::size_t read_size_;
  std::vector<char> buf_;
  std::uint64_t base_ = 0;    // file offset of buf_[0]
  std::size_t begin_ = 0;     // first byte held (history before consumed_)
  std::size_t consumed_ = 0;  // just after the last complete line (not while skipping_)
  std::size_t scan_ = 0;      // no '\n' in [consumed_, scan_): where the next search starts
  std::size_t end_ = 0;       // end of the bytes read
  bool skipping_ = false;     // dropping an overlong line until its '\n'
  std::uint64_t skip_from_ = 0;  // consumedOffset() while skipping
  std::string skip_tail_;        // tail() while skipping
  std::uint64_t overlong_ = 0;
};

}  // namespace mtasts::tlsrpt
