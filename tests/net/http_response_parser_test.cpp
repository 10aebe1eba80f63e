#include "net/http_response_parser.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts::net;
using State = HttpResponseParser::State;

namespace {

const char* name(State s) {
  switch (s) {
    case State::NeedMore: return "NeedMore";
    case State::HeadersReady: return "HeadersReady";
    case State::Complete: return "Complete";
    case State::Failed: return "Failed";
  }
  return "?";
}

// Feeds `wire` in pieces of `step` bytes, resumes after the headers, then signals EOF.
State parseAll(HttpResponseParser& p, const std::string& wire, std::size_t step) {
  State s = State::NeedMore;
  for (std::size_t i = 0; i < wire.size() && s != State::Failed && s != State::Complete; i += step) {
    s = p.feed(std::string_view(wire).substr(i, step));
    if (s == State::HeadersReady) s = p.resume();
  }
  if (s == State::NeedMore) s = p.finishEof();
  return s;
}

}  // namespace

TEST_CASE("http response parser accepts every body framing, in any split") {
  struct Case { const char* what; std::string wire; std::string body; };
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
  const Case cases[] = {
      {"content-length", head + "Content-Length: 5\r\n\r\nhello", "hello"},
      {"until close", head + "\r\nhello world", "hello world"},
      {"bare LF lines", "HTTP/1.0 200 OK\nContent-Length: 2\n\nok", "ok"},
      {"chunked with extension and trailer",
       head + "Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
       "abc0123456789"},
      {"empty body", head + "Content-Length: 0\r\n\r\n", ""},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, c.wire.size()}) {
      std::string what = c.what;
    CAPTURE(what);
      CAPTURE(step);
      HttpResponseParser p(64);
      State s = parseAll(p, c.wire, step);
      CAPTURE(p.error());
      CHECK(std::string(name(s)) == "Complete");
      CHECK(p.status() == 200);
      CHECK(p.body() == c.body);
    }
  }
}

TEST_CASE("http response parser stops at the headers so the caller can judge them first") {
  HttpResponseParser p(4);
  // The announced length is too large, but the 404 must be visible before that failure.
  CHECK(p.feed("HTTP/1.1 404 Not Found\r\ncontent-type: Text/HTML\r\nContent-Length: 99\r\n\r\nxx") ==
        State::HeadersReady);
  CHECK(p.status() == 404);
  CHECK(p.header("CONTENT-TYPE") == std::optional<std::string_view>("Text/HTML"));
  CHECK_FALSE(p.header("Location").has_value());
  CHECK(p.resume() == State::Failed);
  CHECK(p.error() == "Content-Length 99 exceeds the limit of 4 bytes");
}

TEST_CASE("http response parser rejects hostile or broken responses") {
  struct Case { const char* what; std::string wire; const char* error; };
  const std::string head = "HTTP/1.1 200 OK\r\n";
  const Case cases[] = {
      {"body over the limit without length", head + "\r\n" + std::string(11, 'a'), "body larger than 10 bytes"},
      {"chunk over the limit", head + "Transfer-Encoding: chunked\r\n\r\n5\r\naaaaa\r\n6\r\n", "body larger than 10 bytes"},
      {"huge chunk size", head + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", "invalid chunk size"},
      {"chunk size not hex", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"},
      {"missing CRLF after chunk", head + "Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "missing CRLF after chunk data"},
      {"unknown transfer coding", head + "Transfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding \"gzip\""},
      {"overflowing length", head + "Content-Length: 99999999999999999999999\r\n\r\n", "invalid Content-Length"},
      {"negative length", head + "Content-Length: -1\r\n\r\n", "invalid Content-Length"},
      {"conflicting lengths", head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", "invalid Content-Length"},
      {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", "malformed status line"},
      {"bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", "malformed status code"},
      {"folded header", head + "A: b\r\n c\r\n\r\n", "malformed header line"},
      {"headers too large", head + "X: " + std::string(20000, 'h') + "\r\n\r\n", "header line too long"},
      {"truncated body", head + "Content-Length: 5\r\n\r\nabc", "connection closed before the end of the body"},
      {"truncated headers", head + "Content-Type: text/plain\r\n", "connection closed before the response headers ended"},
  };
  for (const auto& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    HttpResponseParser p(10);
    State s = parseAll(p, c.wire, c.wire.size());
    CHECK(std::string(name(s)) == "Failed");
    CHECK(p.error() == c.error);
    CHECK(p.body().size() <= 11);  // never more than max_body + 1 bytes kept
  }
}

TEST_CASE("media type check accepts text/plain in any case with parameters only") {
  struct Case { const char* value; bool ok; };
  for (auto c : {Case{"text/plain", true}, Case{"TEXT/Plain ; charset=utf-8", true}, Case{" text/plain", true},
                 Case{"text/html", false}, Case{"text/plainx", false}, Case{"", false},
                 Case{"text/plain2; a=b", false}}) {
    CAPTURE(c.value);
    CHECK(isTextPlainMediaType(c.value) == c.ok);
  }
}

TEST_CASE("http response parser refuses a close-delimited body cut off without close_notify") {
  HttpResponseParser p(64 * 1024);
  auto s = p.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nversion: STSv1\nmx: mx.exa");
  if (s == HttpResponseParser::State::HeadersReady) s = p.resume();
  CHECK(s == HttpResponseParser::State::NeedMore);
  CHECK(p.finishEof(false) == HttpResponseParser::State::Failed);
  CHECK(p.error().find("close_notify") != std::string::npos);
}

TEST_CASE("http response parser skips interim 1xx responses before the final one") {
  struct Case { const char* what; std::string wire; int status; };
  const std::string final200 = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
  const std::string hints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>\r\n\r\n";
  std::string five;
  for (int i = 0; i < HttpResponseParser::MaxInterimResponses; ++i) five += "HTTP/1.1 100 Continue\r\n\r\n";
  const Case cases[] = {
      {"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n" + final200, 200},
      {"103 Early Hints with headers", hints + final200, 200},
      {"100 then 103", "HTTP/1.1 100 Continue\r\n\r\n" + hints + final200, 200},
      {"an unknown 1xx, bare LF", "HTTP/1.1 199 Whatever\nX-A: b\n\n" + final200, 200},
      {"a 1xx with Content-Length has no body", "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n" + final200, 200},
      {"as many as allowed", five + final200, 200},
      {"the final status is the one judged", hints + "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nno", 404},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, c.wire.size()}) {
      std::string what = c.what;
      CAPTURE(what);
      CAPTURE(step);
      HttpResponseParser p(64);
      State s = parseAll(p, c.wire, step);
      CAPTURE(p.error());
      CHECK(std::string(name(s)) == "Complete");
      CHECK(p.status() == c.status);
      CHECK(p.body() == (c.status == 200 ? "ok" : "no"));
      CHECK(p.header("Content-Type") == std::optional<std::string_view>("text/plain"));
      CHECK_FALSE(p.header("Link").has_value());  // the interim headers are not the response's
      CHECK_FALSE(p.header("X-A").has_value());
    }
  }
}

TEST_CASE("http response parser bounds interim responses and refuses 101") {
  struct Case { const char* what; std::string wire; const char* error; };
  const std::string final200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  std::string six;
  for (int i = 0; i <= HttpResponseParser::MaxInterimResponses; ++i) six += "HTTP/1.1 103 Early Hints\r\n\r\n";
  // Each interim head is small, together they pass the header limit of all heads.
  std::string big;
  for (int i = 0; i < 3; ++i) big += "HTTP/1.1 103 Early Hints\r\nLink: " + std::string(6000, 'l') + "\r\n\r\n";
  const Case cases[] = {
      {"101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n" + final200,
       "unexpected 101 Switching Protocols"},
      {"one interim response too many", six + final200, "more than 5 interim (1xx) responses"},
      {"interim heads count against the header limit", big + final200, "header line too long"},
      {"closed after an interim response", "HTTP/1.1 100 Continue\r\n\r\n",
       "connection closed before the response headers ended"},
  };
  for (const auto& c : cases) {
    std::string what = c.what;
    CAPTURE(what);
    HttpResponseParser p(64);
    State s = parseAll(p, c.wire, c.wire.size());
    CHECK(std::string(name(s)) == "Failed");
    CHECK(p.error() == c.error);
  }
}
