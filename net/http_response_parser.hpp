// HttpResponseParser: incremental, bounded parser for one HTTP/1.x response read from an
// untrusted server (up to MaxInterimResponses 1xx responses, skipped; then the final status
// line, headers, and a Content-Length, chunked or read-until-close body). Pure: bytes in,
// state out, no I/O; owned by one fetch on one loop.
// Errors: State::Failed with error() describing why ("body larger than 65536 bytes") and
// tooLarge() telling a bound that was hit apart from a malformed response.
// Limits: all header sections together (1xx ones too) <= max_header_bytes, body <= max_body
// (never buffers more than max_body + 1 body bytes; a Content-Length above max_body fails
// before any body byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::net {

class HttpResponseParser {
 public:
  enum class State { NeedMore, HeadersReady, Complete, Failed };
  // 100 Continue, 103 Early Hints, ...: a few are skipped; more is a misbehaving server.
  static constexpr int MaxInterimResponses = 5;

  explicit HttpResponseParser(std::size_t max_body, std::size_t max_header_bytes = 16 * 1024)
      : max_body_(max_body), max_header_bytes_(max_header_bytes) {}

  // Appends bytes and parses. Returns HeadersReady exactly once, when the header section of
  // the final (non-1xx) response is complete: the caller inspects status()/header() and then
  // calls resume() for the body. 101 Switching Protocols fails.
  State feed(std::string_view bytes);
  State resume();
  // The peer closed the connection. A body delimited by the close is complete only when
  // the close was authenticated (TLS close_notify): otherwise a cut-off policy could still
  // parse, e.g. with fewer mx lines, and defer mail to the MX hosts it lost.
  State finishEof(bool clean_close = true);

  State state() const { return state_; }
  int status() const { return status_; }
  // First value of a header (name compared case-insensitively), without surrounding spaces.
  std::optional<std::string_view> header(std::string_view name) const;
  // Every header field of the final response, names as received, values trimmed.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  const std::string& body() const { return body_; }
  const std::string& error() const { return error_; }
  bool tooLarge() const { return too_large_; }  // Failed because a size bound was hit

 private:
  enum class Phase { StatusLine, Headers, Paused, Body, UntilClose, ChunkSize, ChunkData,
                     ChunkEnd, Trailers, Done };
  State run();
  State failWith(std::string why, bool too_large = false);
  std::optional<std::string_view> takeLine(std::size_t limit);
  bool parseStatusLine(std::string_view line);
  bool parseHeaderLine(std::string_view line);
  bool skipInterimResponse();
  bool startBody();
  bool takeBodyBytes(std::size_t wanted);

  std::size_t max_body_;
  std::size_t max_header_bytes_;
  State state_ = State::NeedMore;
  Phase phase_ = Phase::StatusLine;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::size_t header_bytes_ = 0;
  int status_ = 0;
  int interim_responses_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::uint64_t remaining_ = 0;  // bytes left in the Content-Length body or current chunk
  std::string body_;
  std::string error_;
  bool too_large_ = false;
};

// "text/plain", any case, parameters ignored: "Text/Plain; charset=utf-8" -> true.
bool isTextPlainMediaType(std::string_view content_type);

}  // namespace mtasts::net
