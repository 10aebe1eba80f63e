#include "postfix/netstring.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

using namespace mtasts::postfix;

namespace {

const char* statusName(NetstringStatus s) {
  switch (s) {
    case NetstringStatus::Complete: return "Complete";
    case NetstringStatus::Incomplete: return "Incomplete";
    case NetstringStatus::Malformed: return "Malformed";
    case NetstringStatus::TooLong: return "TooLong";
  }
  return "?";
}

constexpr std::size_t kLimit = 10000;  // Postfix's socketmap query limit

}  // namespace

TEST_CASE("netstring decoder classifies every edge case") {
  struct Case {
    std::string input;
    std::size_t max;
    NetstringStatus want;
    std::string payload;
    std::size_t consumed;
  };
  const std::string ten_k(10000, 'x');
  const Case cases[] = {
      {"0:,", kLimit, NetstringStatus::Complete, "", 3},
      {"5:hello,", kLimit, NetstringStatus::Complete, "hello", 8},
      {"5:hello,6:second,", kLimit, NetstringStatus::Complete, "hello", 8},
      {"3:a,b,", kLimit, NetstringStatus::Complete, "a,b", 6},
      {std::string("3:\0:\n,", 6), kLimit, NetstringStatus::Complete, std::string("\0:\n", 3), 6},
      {"10000:" + ten_k + ",", kLimit, NetstringStatus::Complete, ten_k, 10007},
      {"10001:", kLimit, NetstringStatus::TooLong, "", 0},
      {"10001", kLimit, NetstringStatus::TooLong, "", 0},          // decided before ':'
      {"99999999999", kLimit, NetstringStatus::TooLong, "", 0},    // huge digits, small limit
      {"1:a,", 0, NetstringStatus::TooLong, "", 0},
      {"0:,", 0, NetstringStatus::Complete, "", 3},
      {"99999999999999999999999:", std::numeric_limits<std::size_t>::max(),
       NetstringStatus::Malformed, "", 0},                          // size_t overflow
      {"18446744073709551615:", std::numeric_limits<std::size_t>::max(),
       NetstringStatus::Incomplete, "", 0},                         // SIZE_MAX itself is legal
      {"18446744073709551616:", std::numeric_limits<std::size_t>::max(),
       NetstringStatus::Malformed, "", 0},                          // SIZE_MAX + 1
      {"", kLimit, NetstringStatus::Incomplete, "", 0},
      {"1", kLimit, NetstringStatus::Incomplete, "", 0},
      {"5:hel", kLimit, NetstringStatus::Incomplete, "", 0},
      {"5:hello", kLimit, NetstringStatus::Incomplete, "", 0},
      {"00:,", kLimit, NetstringStatus::Malformed, "", 0},
      {"01:a,", kLimit, NetstringStatus::Malformed, "", 0},
      {"0", kLimit, NetstringStatus::Incomplete, "", 0},
      {"5:hello;", kLimit, NetstringStatus::Malformed, "", 0},     // missing comma
      {"5:helloX,", kLimit, NetstringStatus::Malformed, "", 0},    // length lies
      {"4:hello,", kLimit, NetstringStatus::Malformed, "", 0},
      {":,", kLimit, NetstringStatus::Malformed, "", 0},           // no digits
      {"x:,", kLimit, NetstringStatus::Malformed, "", 0},
      {"1x:a,", kLimit, NetstringStatus::Malformed, "", 0},
      {" 1:a,", kLimit, NetstringStatus::Malformed, "", 0},
      {"-1:a,", kLimit, NetstringStatus::Malformed, "", 0},
      {"+1:a,", kLimit, NetstringStatus::Malformed, "", 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    CAPTURE(c.max);
    const NetstringView got = decodeNetstring(c.input, c.max);
    INFO("got ", statusName(got.status), " want ", statusName(c.want));
    CHECK(got.status == c.want);
    CHECK(got.payload == c.payload);
    CHECK(got.consumed == c.consumed);
  }
}

TEST_CASE("every proper prefix of a valid netstring is incomplete") {
  const std::string payloads[] = {"", "a", "postfix example.com", std::string(1234, 'z')};
  for (const std::string& payload : payloads) {
    std::string wire;
    appendNetstring(wire, payload);
    CAPTURE(wire.size());
    for (std::size_t n = 0; n < wire.size(); ++n) {
      CAPTURE(n);
      CHECK(decodeNetstring(std::string_view(wire).substr(0, n), kLimit).status ==
            NetstringStatus::Incomplete);
    }
    const NetstringView whole = decodeNetstring(wire, kLimit);
    REQUIRE(whole.status == NetstringStatus::Complete);
    CHECK(whole.payload == payload);
    CHECK(whole.consumed == wire.size());
  }
}

TEST_CASE("appendNetstring writes the length, the bytes and a comma") {
  std::string out = "keep";
  appendNetstring(out, "OK secure");
  appendNetstring(out, "");
  appendNetstring(out, std::string("a\0b", 3));
  CHECK(out == std::string("keep9:OK secure,0:,3:a\0b,", 25));
}

TEST_CASE("back-to-back netstrings decode one after another") {
  std::string wire;
  appendNetstring(wire, "postfix a.example");
  appendNetstring(wire, "");
  appendNetstring(wire, "postfix b.example");
  std::string_view rest = wire;
  std::vector<std::string> got;
  for (;;) {
    const NetstringView v = decodeNetstring(rest, kLimit);
    if (v.status != NetstringStatus::Complete) {
      CHECK(v.status == NetstringStatus::Incomplete);
      break;
    }
    got.emplace_back(v.payload);
    rest.remove_prefix(v.consumed);
  }
  CHECK(rest.empty());
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "postfix a.example");
  CHECK(got[1].empty());
  CHECK(got[2] == "postfix b.example");
}
