#include "net/http_response_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mtasts::net {
namespace {

constexpr std::size_t MaxHeaders = 100;
constexpr int SwitchingProtocols = 101;
constexpr std::size_t MaxChunkLine = 1024;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

bool isTextPlainMediaType(std::string_view content_type) {
  return iequals(trim(content_type.substr(0, content_type.find(';'))), "text/plain");
}

std::optional<std::string_view> HttpResponseParser::header(std::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResponseParser::State HttpResponseParser::feed(std::string_view bytes) {
  if (state_ == State::Failed || state_ == State::Complete) return state_;
  buffer_.append(bytes);
  return run();
}

HttpResponseParser::State HttpResponseParser::resume() {
  if (phase_ != Phase::Paused) return state_;
  if (!startBody()) return state_;
  return run();
}

HttpResponseParser::State HttpResponseParser::finishEof(bool clean_close) {
  if (state_ == State::Failed || state_ == State::Complete) return state_;
  if (phase_ == Phase::UntilClose) {
    if (!clean_close) return failWith("connection closed without TLS close_notify: body may be truncated");
    phase_ = Phase::Done;
    return state_ = State::Complete;
  }
  if (phase_ == Phase::StatusLine || phase_ == Phase::Headers) {
    return failWith("connection closed before the response headers ended");
  }
  return failWith("connection closed before the end of the body");
}

HttpResponseParser::State HttpResponseParser::failWith(std::string why, bool too_large) {
  error_ = std::move(why);
  too_large_ = too_large;
  buffer_.clear();
  pos_ = 0;
  return state_ = State::Failed;
}

std::optional<std::string_view> HttpResponseParser::takeLine(std::size_t limit) {
  std::string_view rest(buffer_);
  rest.remove_prefix(pos_);
  auto nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    if (rest.size() > limit) failWith("header line too long", true);
    return std::nullopt;
  }
  if (nl + 1 > limit) {
    failWith("header line too long", true);
    return std::nullopt;
  }
  std::string_view line = rest.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ += nl + 1;
  return line;
}

bool HttpResponseParser::parseStatusLine(std::string_view line) {
  // "HTTP/1.1 200 OK": version, one space, three digits, then a space or the end.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    failWith("malformed status line");
    return false;
  }
  int code = 0;
  auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, code);
  if (ec != std::errc() || end != line.data() + 12 || code < 100) {
    failWith("malformed status code");
    return false;
  }
  status_ = code;
  return true;
}

bool HttpResponseParser::parseHeaderLine(std::string_view line) {
  auto colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos ||
      !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), isTokenChar)) {
    failWith("malformed header line");  // also rejects obsolete line folding
    return false;
  }
  if (headers_.size() >= MaxHeaders) {
    failWith("too many header fields", true);
    return false;
  }
  headers_.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  return true;
}

// RFC 9110 15.2: a client parses and may ignore 1xx responses before the final one. They
// have no body; their header bytes keep counting against max_header_bytes_, so the whole
// head stays bounded. 101 switches to another protocol, which we never asked for.
bool HttpResponseParser::skipInterimResponse() {
  if (status_ == SwitchingProtocols) {
    failWith("unexpected 101 Switching Protocols");
    return false;
  }
  if (++interim_responses_ > MaxInterimResponses) {
    failWith(fmt::format("more than {} interim (1xx) responses", MaxInterimResponses));
    return false;
  }
  headers_.clear();
  status_ = 0;
  phase_ = Phase::StatusLine;
  return true;
}

bool HttpResponseParser::startBody() {
  // Transfer-Encoding wins over Content-Length (RFC 9112 6.3); only "chunked" is known.
  if (auto te = header("Transfer-Encoding")) {
    std::string_view last = trim(te->substr(te->rfind(',') == std::string_view::npos ? 0 : te->rfind(',') + 1));
    if (!iequals(last, "chunked")) {
      failWith(fmt::format("unsupported Transfer-Encoding \"{}\"", std::string(te->substr(0, 40))));
      return false;
    }
    phase_ = Phase::ChunkSize;
    return true;
  }
  std::optional<std::uint64_t> length;
  for (const auto& [key, value] : headers_) {
    if (!iequals(key, "Content-Length")) continue;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
        (length && *length != n)) {
      failWith("invalid Content-Length");
      return false;
    }
    length = n;
  }
  if (!length) {
    phase_ = Phase::UntilClose;
    return true;
  }
  if (*length > max_body_) {
    failWith(fmt::format("Content-Length {} exceeds the limit of {} bytes", *length, max_body_), true);
    return false;
  }
  remaining_ = *length;
  phase_ = Phase::Body;
  return true;
}

// Moves up to `wanted` buffered bytes into the body; false (and Failed) past max_body.
bool HttpResponseParser::takeBodyBytes(std::size_t wanted) {
  std::size_t n = std::min(wanted, buffer_.size() - pos_);
  std::size_t room = max_body_ + 1 - body_.size();  // keep at most max_body + 1 bytes
  body_.append(buffer_, pos_, std::min(n, room));
  pos_ += n;
  if (body_.size() > max_body_) {
    failWith(fmt::format("body larger than {} bytes", max_body_), true);
    return false;
  }
  return true;
}

HttpResponseParser::State HttpResponseParser::run() {
  for (;;) {
    if (state_ == State::Failed) return state_;
    switch (phase_) {
      case Phase::StatusLine:
      case Phase::Headers: {
        std::size_t before = pos_;
        auto line = takeLine(max_header_bytes_ - std::min(header_bytes_, max_header_bytes_));
        if (!line) {
          if (state_ != State::Failed && buffer_.size() - pos_ + header_bytes_ > max_header_bytes_) {
            return failWith("response headers too large", true);
          }
          return state_;
        }
        header_bytes_ += pos_ - before;
        if (phase_ == Phase::StatusLine) {
          if (!parseStatusLine(*line)) return state_;
          phase_ = Phase::Headers;
        } else if (line->empty()) {
          if (status_ >= 200) {
            phase_ = Phase::Paused;
            return state_ = State::HeadersReady;
          }
          if (!skipInterimResponse()) return state_;
        } else if (!parseHeaderLine(*line)) {
          return state_;
        }
        break;
      }
      case Phase::Paused:
        return state_;
      case Phase::Body:
      case Phase::ChunkData: {
        std::size_t had = body_.size();
        if (!takeBodyBytes(remaining_)) return state_;
        remaining_ -= body_.size() - had;
        if (remaining_ > 0) return state_ = State::NeedMore;
        phase_ = phase_ == Phase::Body ? Phase::Done : Phase::ChunkEnd;
        break;
      }
      case Phase::UntilClose:
        if (!takeBodyBytes(buffer_.size() - pos_)) return state_;
        buffer_.clear();
        pos_ = 0;
        return state_ = State::NeedMore;
      case Phase::ChunkSize: {
        auto line = takeLine(MaxChunkLine);
        if (!line) return state_ == State::Failed ? state_ : (state_ = State::NeedMore);
        std::string_view digits = trim(line->substr(0, line->find(';')));
        std::uint64_t size = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
          return failWith("invalid chunk size");
        }
        if (size > max_body_ - body_.size()) {  // fail before reading a chunk that cannot fit
          return failWith(fmt::format("body larger than {} bytes", max_body_), true);
        }
        remaining_ = size;
        phase_ = size == 0 ? Phase::Trailers : Phase::ChunkData;
        break;
      }
      case Phase::ChunkEnd: {
        auto line = takeLine(MaxChunkLine);
        if (!line) return state_ == State::Failed ? state_ : (state_ = State::NeedMore);
        if (!line->empty()) return failWith("missing CRLF after chunk data");
        phase_ = Phase::ChunkSize;
        break;
      }
      case Phase::Trailers: {
        auto line = takeLine(MaxChunkLine);
        if (!line) return state_ == State::Failed ? state_ : (state_ = State::NeedMore);
        header_bytes_ += line->size() + 2;
        if (header_bytes_ > max_header_bytes_) return failWith("trailer section too large", true);
        if (line->empty()) phase_ = Phase::Done;
        break;
      }
      case Phase::Done:
        buffer_.clear();
        pos_ = 0;
        return state_ = State::Complete;
    }
  }
}

}  // namespace mtasts::net
