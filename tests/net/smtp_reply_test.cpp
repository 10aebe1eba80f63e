#include "net/smtp_reply.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using mtasts::net::ehloOffers;
using mtasts::net::SmtpReply;
using mtasts::net::SmtpReplyLimits;
using mtasts::net::SmtpReplyReader;
using State = SmtpReplyReader::State;

namespace {

// Feeds `bytes` in pieces of `step` bytes, as a socket might hand them over.
State feedInPieces(SmtpReplyReader& r, const std::string& bytes, std::size_t step) {
  State s = r.state();
  for (std::size_t i = 0; i < bytes.size(); i += step) s = r.feed(std::string_view(bytes).substr(i, step));
  return s;
}

}  // namespace

TEST_CASE("the SMTP reply reader assembles single and multi-line replies, in any pieces") {
  struct Case {
    const char* name;
    std::string bytes;
    int want_code;
    std::vector<std::string> want_lines;
  };
  const Case cases[] = {
      {"one line", "220 mx.example.com ESMTP\r\n", 220, {"mx.example.com ESMTP"}},
      {"multi-line", "250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 250,
       {"mx.example.com", "PIPELINING", "STARTTLS"}},
      {"code alone", "221\r\n", 221, {""}},
      {"bare LF tolerated", "220 hi\n", 220, {"hi"}},
      {"continuation with empty text", "250-\r\n250 ok\r\n", 250, {"", "ok"}},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
      CAPTURE(c.name);
      CAPTURE(step);
      SmtpReplyReader r;
      REQUIRE(feedInPieces(r, c.bytes, step) == State::Complete);
      CHECK(r.reply().code == c.want_code);
      CHECK(r.reply().lines == c.want_lines);
      CHECK(r.trailing() == 0);
    }
  }
}

TEST_CASE("the SMTP reply reader refuses what is no reply, with a reason") {
  struct Case {
    const char* name;
    std::string bytes;
    std::string want_error;
  };
  const Case cases[] = {
      {"no code", "hello\r\n", "three-digit code"},
      {"HTTP instead of SMTP", "HTTP/1.1 400 Bad Request\r\n", "three-digit code"},
      {"code out of range", "199 hm\r\n", "out of range"},
      {"code 600", "600 hm\r\n", "out of range"},
      {"no separator", "220x\r\n", "space or '-'"},
      {"codes differ", "250-a\r\n251 b\r\n", "continuation line with code 251 after 250"},
      {"NUL in text", std::string("220 a\0b\r\n", 9), "control character"},
      {"lone CR in text", "220 a\rb\r\n", "control character"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    SmtpReplyReader r;
    CHECK(r.feed(c.bytes) == State::Failed);
    CHECK(r.error().find(c.want_error) != std::string::npos);
  }
}

TEST_CASE("the SMTP reply reader bounds line length and line count") {
  SmtpReplyLimits limits;
  limits.max_line_bytes = 64;
  limits.max_lines = 3;
  SUBCASE("a line without end stops at the bound, not at the end of memory") {
    SmtpReplyReader r(limits);
    CHECK(r.feed("220 " + std::string(58, 'x')) == State::NeedMore);
    CHECK(r.feed("xx") == State::Failed);
    CHECK(r.error() == "reply line longer than 64 bytes");
  }
  SUBCASE("a line of exactly the bound, CRLF included, is fine") {
    SmtpReplyReader r(limits);
    CHECK(r.feed("220 " + std::string(58, 'x') + "\r\n") == State::Complete);
  }
  SUBCASE("too many lines") {
    SmtpReplyReader r(limits);
    CHECK(r.feed("250-a\r\n250-b\r\n250-c\r\n250 d\r\n") == State::Failed);
    CHECK(r.error() == "reply of more than 3 lines");
  }
}

TEST_CASE("the SMTP reply reader counts the bytes after a reply, for STARTTLS injection") {
  SmtpReplyReader r;
  CHECK(r.feed("220 go ahead\r\n250 injected\r\n") == State::Complete);
  CHECK(r.reply().code == 220);
  CHECK(r.trailing() == 14);
  CHECK(r.feed("more") == State::Complete);
  CHECK(r.trailing() == 18);
  r.reset();
  CHECK(r.state() == State::NeedMore);
  CHECK(r.trailing() == 0);
  CHECK(r.feed("221 bye\r\n") == State::Complete);
  CHECK(r.reply().code == 221);
}

TEST_CASE("ehloOffers finds an extension keyword in any case, never in the greeting line") {
  SmtpReply ehlo{250, {"STARTTLS.example.com says hi", "PIPELINING", "starttls", "SIZE 1000"}};
  CHECK(ehloOffers(ehlo, "STARTTLS"));
  CHECK(ehloOffers(ehlo, "size"));
  CHECK_FALSE(ehloOffers(ehlo, "8BITMIME"));
  SmtpReply only_greeting{250, {"STARTTLS"}};
  CHECK_FALSE(ehloOffers(only_greeting, "STARTTLS"));
  SmtpReply prefix{250, {"mx", "STARTTLSX"}};
  CHECK_FALSE(ehloOffers(prefix, "STARTTLS"));
}
