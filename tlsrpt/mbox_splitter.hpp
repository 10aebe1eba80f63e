// Splits an mbox stream into its mails, fed in chunks of any size so a mailbox of any length
// is read with one mail in memory (mbox(5) as written by Postfix local(8), procmail, mutt,
// Dovecot: mboxo and mboxrd). A mail starts at a "From " line at the start of the stream or
// after an empty line; the empty line before it is the separator, not mail. Quoted lines
// (">From ", ">>From ", ...) lose one '>' (mboxrd; for mboxo only ">From " is ever quoted,
// and a body line that really began ">From " gains nothing that matters to a report).
// Content-Length (mboxcl) is not used. Pure: bytes in, callbacks out; no I/O, no errors.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

struct MboxMail {
  std::size_t index = 0;        // 1 for the first mail of the stream
  std::size_t line = 0;         // line number of its "From " line, 1-based
  std::string text;             // the mail without its From_ line, quoting undone
  std::size_t size = 0;         // its full size; more than text.size() when cut
  bool cut = false;             // over max_mail_bytes: text holds only the first bytes
};

class MboxSplitter {
 public:
  using MailCallback = std::function<void(MboxMail&&)>;

  // Each mail goes to on_mail once it is complete. Bytes before the first From_ line (not an
  // mbox, or a damaged start) are counted in leadingBytes() and otherwise dropped.
  MboxSplitter(std::size_t max_mail_bytes, MailCallback on_mail);

  void feed(std::string_view chunk);
  void finish();  // the stream ended: the last mail is complete

  std::size_t leadingBytes() const noexcept { return leading_bytes_; }
  std::size_t mails() const noexcept { return mails_; }

 private:
  void line(std::string_view text, bool complete);
  void append(std::string_view bytes);
  void emit();

  std::size_t max_mail_bytes_;
  MailCallback on_mail_;
  std::string partial_;          // the start of a line whose end has not arrived
  bool mid_line_ = false;        // the current line's start was already handled
  bool discard_line_ = false;    // ... and the rest of it is dropped (an overlong From_ line)
  bool previous_empty_ = true;   // the stream start counts as after an empty line
  std::string pending_empty_;    // an empty line held back: separator or mail content
  bool in_mail_ = false;
  std::size_t line_no_ = 0;
  std::size_t leading_bytes_ = 0;
  std::size_t mails_ = 0;
  MboxMail current_;
};

}  // namespace mtasts::tlsrpt
