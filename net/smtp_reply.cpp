#include "net/smtp_reply.hpp"

#include <fmt/format.h>

#include <utility>

namespace mtasts::net {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace

SmtpReplyReader::State SmtpReplyReader::feed(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (state_ != State::NeedMore) {
      if (state_ == State::Complete) trailing_ += bytes.size() - i;
      return state_;
    }
    const char c = bytes[i];
    if (c == '\n') {
      std::string line = std::exchange(partial_, {});
      if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF; a bare LF is tolerated
      takeLine(line);
      continue;
    }
    if (partial_.size() + 2 > limits_.max_line_bytes) {  // + this byte + the LF still to come
      return failWith(fmt::format("reply line longer than {} bytes", limits_.max_line_bytes));
    }
    partial_.push_back(c);
  }
  return state_;
}

SmtpReplyReader::State SmtpReplyReader::takeLine(std::string_view line) {
  if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) {
    return failWith("reply line does not start with a three-digit code");
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) return failWith(fmt::format("reply code {} out of range", code));
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') {
    return failWith("reply code not followed by a space or '-'");
  }
  if (!reply_.lines.empty() && code != reply_.code) {
    return failWith(fmt::format("continuation line with code {} after {}", code, reply_.code));
  }
  if (reply_.lines.size() >= limits_.max_lines) {
    return failWith(fmt::format("reply of more than {} lines", limits_.max_lines));
  }
  for (char c : line) {
    if (c == '\0' || c == '\r') return failWith("control character in a reply line");
  }
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
  const bool more = line.size() > 3 && line[3] == '-';
  if (!more) state_ = State::Complete;
  return state_;
}

SmtpReplyReader::State SmtpReplyReader::failWith(std::string why) {
  state_ = State::Failed;
  error_ = std::move(why);
  return state_;
}

void SmtpReplyReader::reset() {
  state_ = State::NeedMore;
  partial_.clear();
  reply_ = SmtpReply{};
  error_.clear();
  trailing_ = 0;
}

bool ehloOffers(const SmtpReply& ehlo, std::string_view keyword) {
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string_view line = ehlo.lines[i];
    const std::size_t end = line.find(' ');
    if (equalsIgnoringCase(line.substr(0, end), keyword)) return true;
  }
  return false;
}

}  // namespace mtasts::net
