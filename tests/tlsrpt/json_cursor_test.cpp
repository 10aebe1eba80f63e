#include "tlsrpt/json_cursor.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using mtasts::ErrorCode;
using mtasts::tlsrpt::JsonCursor;

namespace {

struct StringCase {
  std::string name;
  std::string json;  // one JSON string token
  std::string want;  // decoded; "!" + reason fragment for an error
  bool replaced = false;
};

std::string readOne(const std::string& json, bool& replaced, std::size_t max = 1024) {
  JsonCursor cur(json);
  std::string out;
  if (!cur.readString(out, max)) return "!" + cur.error().detail;
  replaced = cur.replacedInvalidUtf8();
  if (!cur.atEnd()) return "!not at end";
  return out;
}

}  // namespace

TEST_CASE("readString decodes every escape libtlsrpt writes and the rest of RFC 8259's") {
  const StringCase cases[] = {
      {"plain", R"("abc")", "abc"},
      {"empty", R"("")", ""},
      {"quote and backslash", R"("a\"b\\c")", "a\"b\\c"},
      {"solidus escaped and raw", R"("\/x/")", "/x/"},
      {"short escapes", R"("\b\f\n\r\t")", "\b\f\n\r\t"},
      {"libtlsrpt control escapes", R"("\u0001\u001f\u007f\u000b")", "\x01\x1f\x7f\x0b"},
      {"upper-case hex", R"("\u001F\u00E4")", "\x1f\xc3\xa4"},
      {"escaped BMP character", R"("\u20ac")", "\xe2\x82\xac"},
      {"escaped surrogate pair", R"("\ud83d\ude00")", "\xf0\x9f\x98\x80"},
      {"raw UTF-8 kept", "\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"},
      {"raw DEL kept", "\"\x7f\"", "\x7f"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bool replaced = true;
    CHECK(readOne(c.json, replaced) == c.want);
    CHECK_FALSE(replaced);
  }
}

TEST_CASE("readString replaces each maximal ill-formed UTF-8 subpart with one U+FFFD") {
  const std::string R = "\xEF\xBF\xBD";
  const StringCase cases[] = {
      {"latin-1 byte (the invalid-utf8 fixture)", "\"a\xe4 b\"", "a" + R + " b"},
      {"lone continuation byte", "\"\x80\"", R},
      {"two continuation bytes", "\"\x80\xbf\"", R + R},
      {"truncated 3-byte sequence", "\"\xe2\x82\"", R},
      {"truncated 4-byte sequence then ASCII", "\"\xf0\x9f\x98x\"", R + "x"},
      {"overlong 2-byte form of '/'", "\"\xc0\xaf\"", R + R},
      {"overlong 3-byte form", "\"\xe0\x80\xaf\"", R + R + R},
      {"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", R + R + R},
      {"above U+10FFFF", "\"\xf4\x90\x80\x80\"", R + R + R + R},
      {"0xff", "\"\xff\"", R},
      {"invalid byte before a closing quote", "\"\xe4\"", R},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bool replaced = false;
    CHECK(readOne(c.json, replaced) == c.want);
    CHECK(replaced);
  }
}

TEST_CASE("readString refuses what libtlsrpt cannot write and what RFC 8259 forbids") {
  const StringCase cases[] = {
      {"unterminated", R"("abc)", "!truncated inside a string"},
      {"truncated escape", "\"a\\", "!truncated inside an escape"},
      {"unknown escape", R"("\x41")", "!invalid escape"},
      {"escaped NUL", R"("a\u0000b")", "!\\u0000 (NUL)"},
      {"raw NUL", std::string("\"a\0b\"", 5), "!raw control byte 0x00"},
      {"raw newline", "\"a\nb\"", "!raw control byte 0x0a"},
      {"raw tab", "\"a\tb\"", "!raw control byte 0x09"},
      {"short \\u", R"("\u12")", "!without 4 hex digits"},
      {"\\u with a non-hex digit", R"("\u12g4")", "!without 4 hex digits"},
      {"lone high surrogate", R"("\ud83d")", "!unpaired high surrogate"},
      {"high surrogate then text", R"("\ud83dx")", "!unpaired high surrogate"},
      {"lone low surrogate", R"("\ude00")", "!unpaired low surrogate"},
      {"two high surrogates", R"("\ud83d\ud83d")", "!followed by"},
      {"not a string", "abc", "!expected a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bool replaced = false;
    const std::string got = readOne(c.json, replaced);
    CAPTURE(got);
    REQUIRE(c.want[0] == '!');
    CHECK(got[0] == '!');
    CHECK(got.find(c.want.substr(1)) != std::string::npos);
  }
}

TEST_CASE("readString bounds the decoded length") {
  bool replaced = false;
  CHECK(readOne("\"" + std::string(10, 'a') + "\"", replaced, 10) == std::string(10, 'a'));
  const std::string json = "\"" + std::string(11, 'a') + "\"";
  JsonCursor cur(json);
  std::string out;
  CHECK_FALSE(cur.readString(out, 10));
  CHECK(cur.error().code == ErrorCode::TooLarge);
}

TEST_CASE("readInteger takes the integers libtlsrpt writes and names what it refuses") {
  struct Case {
    const char* json;
    std::int64_t want;
    const char* error;  // fragment; nullptr when accepted
  };
  const Case cases[] = {
      {"0", 0, nullptr},
      {"205", 205, nullptr},
      {"-1", -1, nullptr},
      {"-0", 0, nullptr},
      {"999999999", 999999999, nullptr},
      {"1000000000", 0, "more than 9 digits"},
      {"99999999999999999999999", 0, "more than 9 digits"},
      {"007", 0, "leading zero"},
      {"01", 0, "leading zero"},
      {"2.0", 0, "fraction"},
      {"2e2", 0, "exponent"},
      {"2E+2", 0, "exponent"},
      {"-", 0, "truncated"},
      {"-x", 0, "expected a number"},
      {"+1", 0, "expected a number"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    JsonCursor cur(c.json);
    std::int64_t got = -42;
    const bool ok = cur.readInteger(got);
    if (c.error == nullptr) {
      REQUIRE(ok);
      CHECK(got == c.want);
    } else {
      REQUIRE_FALSE(ok);
      CAPTURE(cur.error().detail);
      CHECK(cur.error().detail.find(c.error) != std::string::npos);
    }
  }
}

TEST_CASE("skipValue checks the syntax of any value and bounds its nesting") {
  struct Case {
    std::string json;
    bool ok;
  };
  const std::string deep_ok = std::string(JsonCursor::MaxNestingDepth, '[') +
                              std::string(JsonCursor::MaxNestingDepth, ']');
  const std::string too_deep = std::string(JsonCursor::MaxNestingDepth + 1, '[') +
                               std::string(JsonCursor::MaxNestingDepth + 1, ']');
  const Case cases[] = {
      {R"({"a":[1,2.5e-3,-0,true,false,null,"x",{"b":{}}],"c":[]})", true},
      {"-1.5E+10", true},
      {deep_ok, true},
      {too_deep, false},
      {"[1,]", false},
      {"{\"a\":1,}", false},
      {"{\"a\" 1}", false},
      {"{a:1}", false},
      {"[1 2]", false},
      {"tru", false},
      {"nul", false},
      {"01", false},
      {"1.", false},
      {"1e", false},
      {".5", false},
      {"[", false},
      {"{\"a\":", false},
      {"'x'", false},
      {"NaN", false},
      {"Infinity", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    JsonCursor cur(c.json);
    const bool ok = cur.skipValue(1) && cur.atEnd();
    CHECK(ok == c.ok);
    if (!c.ok) CHECK_FALSE(cur.error().detail.empty());
  }
}
