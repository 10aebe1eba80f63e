// SMTP replies (RFC 5321 4.2) read from untrusted bytes, for the STARTTLS probe
// (net/openssl_tls_probe.hpp): one reply at a time, fed in whatever pieces the socket hands
// over. A pure state machine, no I/O, any thread. Bounded: a line longer than
// SmtpReplyLimits::max_line_bytes or a reply of more than max_lines lines is refused (Failed,
// with a reason); so is a line that is not "NNN", "NNN text" or "NNN-text", a code outside
// 200-599 and a continuation line with another code. Text is kept as received (escape it
// before printing).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::net {

struct SmtpReplyLimits {
  // A line with its CRLF. RFC 5321 4.5.3.1.5 says 512 octets per reply line; servers that
  // send longer banners exist, so some slack, but not without end.
  std::size_t max_line_bytes = 1000;
  // An EHLO reply lists its extensions one per line: 100 is several times what real
  // servers send.
  std::size_t max_lines = 100;
};

struct SmtpReply {
  int code = 0;                     // 200 to 599
  std::vector<std::string> lines;   // the text of each line, after "NNN-" / "NNN " (may be empty)
};

class SmtpReplyReader {
 public:
  enum class State { NeedMore, Complete, Failed };

  explicit SmtpReplyReader(SmtpReplyLimits limits = {}) : limits_(limits) {}

  // Takes the next bytes. Once Complete, reply() holds the reply and trailing() says how many
  // bytes came after its last line end (the caller decides whether that is allowed: after
  // the 220 to STARTTLS it is not, RFC 3207 / CVE-2011-0411). Feeding after Complete or
  // Failed changes nothing.
  State feed(std::string_view bytes);

  State state() const noexcept { return state_; }
  const SmtpReply& reply() const noexcept { return reply_; }
  const std::string& error() const noexcept { return error_; }  // when Failed
  std::size_t trailing() const noexcept { return trailing_; }

  // Ready for the next reply (the probe sends one command at a time).
  void reset();

 private:
  State takeLine(std::string_view line);
  State failWith(std::string why);

  SmtpReplyLimits limits_;
  State state_ = State::NeedMore;
  std::string partial_;  // bytes of the line not yet ended
  SmtpReply reply_;
  std::string error_;
  std::size_t trailing_ = 0;
};

// True when an EHLO reply (RFC 5321 4.1.1.1) announces `keyword` (e.g. "STARTTLS"): the first
// word of any line after the first, compared without regard to case.
bool ehloOffers(const SmtpReply& ehlo, std::string_view keyword);

}  // namespace mtasts::net
