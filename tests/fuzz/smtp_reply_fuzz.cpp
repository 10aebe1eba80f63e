// libFuzzer target for the SMTP reply reader (net/smtp_reply.hpp), what the STARTTLS probe
// of --check-domain reads from a receiving MX. The first input byte picks the piece size
// (1 to 256) the rest is fed in, as a socket may split it anywhere.
// Invariants: feeding in pieces gives the same state, reply and trailing count as feeding
// all at once; a complete reply has a code 200-599, 1 to max_lines lines, each line shorter
// than max_line_bytes; a failed one has a reason; ehloOffers never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/smtp_reply.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = static_cast<std::size_t>(data[0]) + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  using mtasts::net::SmtpReplyReader;
  mtasts::net::SmtpReplyLimits limits;
  limits.max_line_bytes = 200;  // small, so the fuzzer reaches the bounds
  limits.max_lines = 8;

  SmtpReplyReader whole(limits);
  whole.feed(input);
  SmtpReplyReader pieces(limits);
  for (std::size_t i = 0; i < input.size(); i += step) pieces.feed(input.substr(i, step));

  check(whole.state() == pieces.state());
  if (whole.state() == SmtpReplyReader::State::Complete) {
    const auto& r = whole.reply();
    check(r.code >= 200 && r.code <= 599);
    check(!r.lines.empty() && r.lines.size() <= limits.max_lines);
    for (const auto& line : r.lines) check(line.size() < limits.max_line_bytes);
    check(r.code == pieces.reply().code && r.lines == pieces.reply().lines);
    check(whole.trailing() == pieces.trailing());
    check(whole.trailing() <= input.size());
    (void)mtasts::net::ehloOffers(r, "STARTTLS");
  } else if (whole.state() == SmtpReplyReader::State::Failed) {
    check(!whole.error().empty() && whole.error() == pieces.error());
  }
  return 0;
}
