#include "postfix/netstring.hpp"

#include <charconv>
#include <limits>

namespace mtasts::postfix {
namespace {

constexpr NetstringView statusOnly(NetstringStatus status) noexcept { return {status, {}, 0}; }

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

// Postfix's netstring_get_length() accepts any digit run and checks overflow digit by digit;
// we are stricter (no leading zeros, so one length has one spelling) and check the caller's
// limit while the digits arrive, so a peer cannot make us buffer a huge declared payload.
NetstringView decodeNetstring(std::string_view buffer, std::size_t max_payload) noexcept {
  std::size_t len = 0;
  std::size_t pos = 0;
  for (;; ++pos) {
    if (pos == buffer.size()) return statusOnly(NetstringStatus::Incomplete);
    const char c = buffer[pos];
    if (c == ':') break;
    if (!isDigit(c)) return statusOnly(NetstringStatus::Malformed);
    if (pos == 1 && buffer[0] == '0') return statusOnly(NetstringStatus::Malformed);  // "01:"
    const auto digit = static_cast<std::size_t>(c - '0');
    constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
    if (len > (kMax - digit) / 10) return statusOnly(NetstringStatus::Malformed);  // overflow
    len = len * 10 + digit;
    if (len > max_payload) return statusOnly(NetstringStatus::TooLong);
  }
  if (pos == 0) return statusOnly(NetstringStatus::Malformed);  // ":" without digits
  const std::size_t data_start = pos + 1;
  const std::size_t available = buffer.size() - data_start;  // data_start <= size
  // Need len data bytes plus the ',' terminator; written so that len + 1 cannot overflow.
  if (available <= len) return statusOnly(NetstringStatus::Incomplete);
  if (buffer[data_start + len] != ',') return statusOnly(NetstringStatus::Malformed);
  return {NetstringStatus::Complete, buffer.substr(data_start, len), data_start + len + 1};
}

void appendNetstring(std::string& out, std::string_view payload) {
  char digits[std::numeric_limits<std::size_t>::digits10 + 2];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, payload.size());
  (void)ec;  // cannot fail: the buffer holds any size_t
  out.append(digits, end);
  out.push_back(':');
  out.append(payload);
  out.push_back(',');
}

}  // namespace mtasts::postfix
