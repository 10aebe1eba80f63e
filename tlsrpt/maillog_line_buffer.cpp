#include "tlsrpt/maillog_line_buffer.hpp"

#include "tlsrpt/maillog_position.hpp"

#include <algorithm>
#include <cstring>

namespace mtasts::tlsrpt {

namespace {
constexpr std::size_t Tail = FilePosition::TailBytes;
}

MaillogLineBuffer::MaillogLineBuffer(std::size_t max_line, std::size_t read_size)
    : max_line_(std::max<std::size_t>(max_line, 1)),
      read_size_(std::max<std::size_t>(read_size, 1)),
      buf_(Tail + max_line_ + 1 + read_size_) {}

void MaillogLineBuffer::reset(std::uint64_t offset, std::string_view history) {
  history = history.substr(history.size() - std::min(history.size(), Tail));
  if (!history.empty()) std::memcpy(buf_.data(), history.data(), history.size());  // data() may be null
  base_ = offset - history.size();
  begin_ = 0;
  consumed_ = scan_ = end_ = history.size();
  skipping_ = false;
  skip_tail_.clear();
}

char* MaillogLineBuffer::writePtr() {
  if (writeSpace() < read_size_) compact();
  return buf_.data() + end_;
}

// Moves what must stay (the tail before the consumed offset, and the partial line; while
// skipping only the last bytes of the dropped line, for the tail after its '\n') to the front.
void MaillogLineBuffer::compact() {
  const std::size_t keep_from =
      skipping_ ? std::max(begin_, end_ - std::min(end_, Tail))
                : std::max(begin_, consumed_ - std::min(consumed_, Tail));
  if (keep_from == 0) return;
  std::memmove(buf_.data(), buf_.data() + keep_from, end_ - keep_from);
  base_ += keep_from;
  begin_ = 0;
  end_ -= keep_from;
  scan_ = scan_ > keep_from ? scan_ - keep_from : 0;
  consumed_ = consumed_ > keep_from ? consumed_ - keep_from : 0;
}

bool MaillogLineBuffer::next(std::string_view& line) {
  for (;;) {
    const std::size_t from = std::max(scan_, skipping_ ? begin_ : consumed_);
    const void* nl = from < end_ ? std::memchr(buf_.data() + from, '\n', end_ - from) : nullptr;
    if (nl == nullptr) {
      scan_ = end_;
      if (!skipping_ && end_ - consumed_ > max_line_) {
        // The line is already too long: remember where it started, drop it as it comes.
        skip_tail_.assign(tail());
        skip_from_ = base_ + consumed_;
        skipping_ = true;
      }
      return false;
    }
    const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
    if (skipping_) {
      skipping_ = false;
      overlong_ += 1;
      consumed_ = scan_ = at + 1;
      continue;
    }
    const std::size_t start = consumed_;
    consumed_ = scan_ = at + 1;
    if (at - start > max_line_) {
      overlong_ += 1;
      continue;
    }
    line = std::string_view(buf_.data() + start, at - start);
    return true;
  }
}

std::string_view MaillogLineBuffer::tail() const {
  if (skipping_) return skip_tail_;
  const std::size_t n = std::min(consumed_ - begin_, Tail);
  return {buf_.data() + consumed_ - n, n};
}

std::string_view MaillogLineBuffer::readTail() const {
  const std::size_t n = std::min(end_ - begin_, Tail);
  return {buf_.data() + end_ - n, n};
}

}  // namespace mtasts::tlsrpt
