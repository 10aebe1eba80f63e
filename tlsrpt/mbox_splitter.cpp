#include "tlsrpt/mbox_splitter.hpp"

#include <algorithm>

namespace mtasts::tlsrpt {
namespace {

// How much of a line is looked at to tell a From_ line or a quoted one; longer lines are
// decided on this much and the rest streams through (a base64 line is 76 bytes).
constexpr std::size_t LineDecisionBytes = 4096;

bool isQuotedFrom(std::string_view line) noexcept {
  const std::size_t quotes = line.find_first_not_of('>');
  return quotes != std::string_view::npos && quotes > 0 && line.substr(quotes).starts_with("From ");
}

}  // namespace

MboxSplitter::MboxSplitter(std::size_t max_mail_bytes, MailCallback on_mail)
    : max_mail_bytes_(max_mail_bytes), on_mail_(std::move(on_mail)) {}

void MboxSplitter::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const std::size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (mid_line_) {
        if (!discard_line_) append(chunk);
        return;
      }
      partial_ += chunk;
      if (partial_.size() > LineDecisionBytes) {
        line(partial_, false);
        partial_.clear();
        mid_line_ = true;
      }
      return;
    }
    const std::string_view piece = chunk.substr(0, nl + 1);
    if (mid_line_) {
      if (!discard_line_) append(piece);
      mid_line_ = false;
      discard_line_ = false;
      previous_empty_ = false;
    } else if (!partial_.empty()) {
      partial_ += piece;
      line(partial_, true);
      partial_.clear();
    } else {
      line(piece, true);
    }
    chunk.remove_prefix(nl + 1);
  }
}

void MboxSplitter::finish() {
  if (!partial_.empty()) {
    line(partial_, true);
    partial_.clear();
  }
  mid_line_ = false;
  discard_line_ = false;
  pending_empty_.clear();  // a trailing empty line is the separator after the last mail
  if (in_mail_) emit();
}

void MboxSplitter::line(std::string_view text, bool complete) {
  ++line_no_;
  std::string_view content = text;
  if (complete && content.ends_with('\n')) content.remove_suffix(1);
  if (complete && content.ends_with('\r')) content.remove_suffix(1);
  const bool empty = complete && content.empty();
  if (previous_empty_ && content.starts_with("From ")) {
    pending_empty_.clear();
    if (in_mail_) emit();
    in_mail_ = true;
    current_ = MboxMail{};
    current_.index = ++mails_;
    current_.line = line_no_;
    previous_empty_ = false;
    discard_line_ = !complete;  // the rest of an overlong From_ line is not mail either
    return;
  }
  previous_empty_ = empty;
  if (!in_mail_) {
    leading_bytes_ += text.size();
    return;
  }
  if (!pending_empty_.empty()) {
    append(pending_empty_);
    pending_empty_.clear();
  }
  if (empty) {
    pending_empty_ = std::string(text);  // the separator, if a From_ line follows
    return;
  }
  if (isQuotedFrom(content)) text.remove_prefix(1);
  append(text);
}

void MboxSplitter::append(std::string_view bytes) {
  if (!in_mail_) {
    leading_bytes_ += bytes.size();
    return;
  }
  current_.size += bytes.size();
  if (current_.cut) return;
  const std::size_t room = max_mail_bytes_ - std::min(max_mail_bytes_, current_.text.size());
  if (bytes.size() > room) {
    current_.text.append(bytes.substr(0, room));
    current_.cut = true;
    return;
  }
  current_.text.append(bytes);
}

void MboxSplitter::emit() {
  in_mail_ = false;
  on_mail_(std::move(current_));
  current_ = MboxMail{};
}

}  // namespace mtasts::tlsrpt
