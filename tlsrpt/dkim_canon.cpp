#include "tlsrpt/dkim_canon.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/domain.hpp"

namespace mtasts::tlsrpt {
namespace {

bool isWsp(char c) noexcept { return c == ' ' || c == '\t'; }

// Appends text with runs of WSP reduced to one space; CRLF inside (folding) is dropped.
void appendCompressed(std::string& out, std::string_view text) {
  bool in_space = false;
  for (char c : text) {
    if (c == '\r' || c == '\n') continue;
    if (isWsp(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
  // A trailing run is dropped: WSP at the end of a value or line goes.
}

}  // namespace

Result<SplitMessage> splitMessage(std::string_view message) {
  for (std::size_t i = 0; i < message.size(); ++i) {
    const bool bare_cr = message[i] == '\r' && (i + 1 == message.size() || message[i + 1] != '\n');
    const bool bare_lf = message[i] == '\n' && (i == 0 || message[i - 1] != '\r');
    if (bare_cr || bare_lf) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("message has a bare {} at byte {}", bare_cr ? "CR" : "LF", i));
    }
  }
  SplitMessage out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = message.find("\r\n", pos);
    if (end == std::string_view::npos) {
      return fail(ErrorCode::InvalidInput, "message has no empty line after its header");
    }
    const std::string_view line = message.substr(pos, end - pos);
    if (line.empty()) {
      out.body = message.substr(end + 2);
      return out;
    }
    if (isWsp(line.front())) {
      if (out.headers.empty()) {
        return fail(ErrorCode::InvalidInput, "message starts with a continuation line");
      }
      auto& last = out.headers.back();
      last.field = message.substr(static_cast<std::size_t>(last.field.data() - message.data()),
                                  end - static_cast<std::size_t>(last.field.data() - message.data()));
    } else {
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return fail(ErrorCode::InvalidInput, fmt::format("header line {} has no field name",
                                                         out.headers.size() + 1));
      }
      out.headers.push_back(RawHeaderField{line.substr(0, colon), line});
    }
    pos = end + 2;
  }
}

std::string canonicalHeaderRelaxed(std::string_view field) {
  const std::size_t colon = field.find(':');
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  std::string out = toLowerAscii(name);
  out += ':';
  std::string_view value = colon == std::string_view::npos ? "" : field.substr(colon + 1);
  // Leading WSP (and folding) of the value goes too.
  while (!value.empty() && (isWsp(value.front()) || value.front() == '\r' || value.front() == '\n')) {
    value.remove_prefix(1);
  }
  appendCompressed(out, value);
  return out;
}

std::string canonicalBodyRelaxed(std::string_view body) {
  std::string out;
  std::size_t pending_empty = 0;  // empty lines are written only when a non-empty one follows
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find("\r\n", pos);
    const bool terminated = end != std::string_view::npos;
    if (!terminated) end = body.size();
    std::string line;
    appendCompressed(line, body.substr(pos, end - pos));
    pos = terminated ? end + 2 : end;
    if (line.empty()) {
      ++pending_empty;
      continue;
    }
    for (; pending_empty > 0; --pending_empty) out += "\r\n";
    out += line;
    out += "\r\n";  // RFC 6376 3.4.4: a body not ending in CRLF gets one
  }
  return out;
}

}  // namespace mtasts::tlsrpt
