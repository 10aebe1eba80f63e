// libFuzzer target for the bounded HTTP/1.x response parser (net/http_response_parser.hpp)
// that reads policy responses from untrusted servers. The first input byte picks how the
// rest is split into feed() calls and whether the final close is clean; the rest is the
// response as received.
// Invariants: the parser never keeps more than max_body + 1 body bytes; HeadersReady comes
// at most once and only with a final status (200..999, never 1xx); a Complete body is at
// most max_body; a Failed parser says why; the same bytes fed in one piece or in pieces
// end in the same state with the same status and body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http_response_parser.hpp"

namespace {

using mtasts::net::HttpResponseParser;
using State = HttpResponseParser::State;

constexpr std::size_t MaxBody = 256;
constexpr std::size_t MaxHeaderBytes = 1024;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  State state;
  int status;
  std::string body;
};

Outcome run(std::string_view wire, std::size_t step, bool clean_close) {
  HttpResponseParser p(MaxBody, MaxHeaderBytes);
  State s = State::NeedMore;
  int headers_ready = 0;
  for (std::size_t i = 0; i < wire.size() && (s == State::NeedMore); i += step) {
    s = p.feed(wire.substr(i, step));
    if (s == State::HeadersReady) {
      ++headers_ready;
      check(p.status() >= 200 && p.status() <= 999);
      (void)p.header("Content-Type");
      s = p.resume();
      check(s != State::HeadersReady);
    }
    check(p.body().size() <= MaxBody + 1);
  }
  if (s == State::NeedMore) s = p.finishEof(clean_close);
  check(headers_ready <= 1);
  check(s == State::Complete || s == State::Failed || s == State::NeedMore);
  if (s == State::Complete) check(p.body().size() <= MaxBody && p.status() >= 200);
  if (s == State::Failed) check(!p.error().empty());
  return {s, p.status(), p.body()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + (data[0] & 0x3f);
  const bool clean_close = (data[0] & 0x40) != 0;
  const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = run(wire, wire.size() + 1, clean_close);
  const Outcome split = run(wire, step, clean_close);
  check(whole.state == split.state);
  if (whole.state == State::Complete) check(whole.status == split.status && whole.body == split.body);
  return 0;
}
