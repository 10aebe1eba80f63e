#include "sts/policy_parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace mtasts;
using namespace mtasts::sts;

namespace {

std::string describe(const Result<Policy>& r) {
  if (!r) return std::string(errorCodeName(r.error().code)) + ": " + r.error().detail;
  std::string out = "ok mode=" + std::string(modeName(r->mode)) +
                    " max_age=" + std::to_string(r->max_age) + " mx=";
  for (const auto& mx : r->mx) out += mx + ",";
  return out;
}

const std::string Head = "version: STSv1\nmode: enforce\n";
const std::string Tail = "mx: mx.example.com\nmax_age: 86400\n";

}  // namespace

TEST_CASE("parsePolicy accepts valid policies") {
  struct Case {
    std::string name;
    std::string body;
    Mode want_mode;
    std::int64_t want_max_age;
    std::vector<std::string> want_mx;
  };
  const Case cases[] = {
      {"RFC example",
       "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
       "mx: backupmx.example.com\nmax_age: 604800\n",
       Mode::Enforce,
       604800,
       {"mail.example.com", "*.example.net", "backupmx.example.com"}},
      {"CRLF line ends",
       "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n",
       Mode::Testing,
       86400,
       {"mx.example.com"}},
      {"mixed line ends",
       "version: STSv1\r\nmode: testing\nmx: mx.example.com\r\nmax_age: 86400\n",
       Mode::Testing,
       86400,
       {"mx.example.com"}},
      {"last line without a line end",
       Head + "mx: mx.example.com\nmax_age: 86400",
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"last line CRLF-less",
       Head + "mx: mx.example.com\r\nmax_age: 86400",
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"no space after the colon",
       "version:STSv1\nmode:enforce\nmx:mx.example.com\nmax_age:86400\n",
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"tabs and spaces after the colon and at the line end",
       "version:\tSTSv1 \t\nmode:  enforce\t\r\nmx: \tmx.example.com  \nmax_age:\t86400\t\n",
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"fields in any order",
       "max_age: 5\nmx: mx.example.com\nmode: enforce\nversion: STSv1\n",
       Mode::Enforce,
       5,
       {"mx.example.com"}},
      {"max_age above the cap is capped",
       Head + "mx: a.example\nmax_age: 31557601\n",
       Mode::Enforce,
       MaxAgeCap,
       {"a.example"}},
      {"max_age of 10 nines is capped",
       Head + "mx: a.example\nmax_age: 9999999999\n",
       Mode::Enforce,
       MaxAgeCap,
       {"a.example"}},
      {"max_age at the cap",
       Head + "mx: a.example\nmax_age: 31557600\n",
       Mode::Enforce,
       MaxAgeCap,
       {"a.example"}},
      {"max_age 0 is allowed by 1*10DIGIT",
       Head + "mx: a.example\nmax_age: 0\n",
       Mode::Enforce,
       0,
       {"a.example"}},
      {"max_age with leading zeros",
       Head + "mx: a.example\nmax_age: 0000000060\n",
       Mode::Enforce,
       60,
       {"a.example"}},
      {"upper-case mx is lower-cased",
       Head + "mx: MX.Example.COM\nmx: *.EXAMPLE.net\nmax_age: 1\n",
       Mode::Enforce,
       1,
       {"mx.example.com", "*.example.net"}},
      {"A-label mx",
       Head + "mx: xn--bcher-kva.example\nmax_age: 1\n",
       Mode::Enforce,
       1,
       {"xn--bcher-kva.example"}},
      {"duplicate mode: first wins",
       "version: STSv1\nmode: testing\nmode: enforce\n" + Tail,
       Mode::Testing,
       86400,
       {"mx.example.com"}},
      {"duplicate mode: invalid later value ignored",
       Head + "mode: Enforce\n" + Tail,
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"duplicate version: later STSv2 ignored",
       Head + "version: STSv2\n" + Tail,
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"duplicate max_age: first wins",
       Head + Tail + "max_age: 5\n",
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"duplicate mx lines all kept",
       Head + "mx: a.example\nmx: a.example\nmax_age: 1\n",
       Mode::Enforce,
       1,
       {"a.example", "a.example"}},
      {"mode none without mx",
       "version: STSv1\nmode: none\nmax_age: 86400\n",
       Mode::None,
       86400,
       {}},
      {"mode none with mx",
       "version: STSv1\nmode: none\nmx: a.example\nmax_age: 1\n",
       Mode::None,
       1,
       {"a.example"}},
      {"unknown keys ignored",
       Head + "foo: bar baz\nx_y-z.1: =;:!\nMode: whatever\n" + Tail,
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"UTF-8 in an unknown value",
       Head +
           "comment: gr\xc3\xbc\xc3\x9f"
           "e \xe2\x82\xac \xf0\x9f\x93\xa7\n" +
           Tail,
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
      {"32-char unknown key",
       Head + std::string(32, 'k') + ": v\n" + Tail,
       Mode::Enforce,
       86400,
       {"mx.example.com"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = parsePolicy(c.body);
    CAPTURE(describe(got));
    REQUIRE(got.has_value());
    CHECK(got->mode == c.want_mode);
    CHECK(got->max_age == c.want_max_age);
    CHECK(got->mx == c.want_mx);
  }
}

TEST_CASE("parsePolicy rejects invalid policies with a precise reason") {
  struct Case {
    std::string name;
    std::string body;
    std::string want_reason;
  };
  const Case cases[] = {
      {"empty body", "", "empty policy"},
      {"space before the colon", "version: STSv1\nmode : enforce\n" + Tail,
       "line 2: whitespace before ':'"},
      {"leading space", " version: STSv1\nmode: enforce\n" + Tail,
       "line 1: whitespace before the key"},
      {"missing colon", "version: STSv1\nmode: enforce\nmx mx.example.com\nmax_age: 1\n",
       "line 3: missing ':'"},
      {"empty key", Head + ": value\n" + Tail, "line 3: empty key before ':'"},
      {"invalid key", Head + "_foo: bar\n" + Tail, "line 3: invalid key \"_foo\""},
      {"33-char key", Head + std::string(33, 'k') + ": v\n" + Tail, "line 3: invalid key"},
      {"empty value", Head + "foo:\n" + Tail, "line 3: foo: empty value"},
      {"only whitespace as value", Head + "foo: \t \n" + Tail, "line 3: foo: empty value"},
      {"tab inside a value", Head + "foo: a\tb\n" + Tail, "line 3: foo: control character 0x09"},
      {"lone CR inside a line", Head + "foo: a\rb\n" + Tail, "line 3: foo: control character 0x0d"},
      {"CR-only line ends", "version: STSv1\rmode: enforce\r",
       "line 1: version: control character 0x0d"},
      {"CR at the very end", Head + Tail + "foo: bar\r", "line 5: foo: control character 0x0d"},
      {"DEL in a value", Head + "foo: a\x7f\n" + Tail, "control character 0x7f"},
      {"invalid UTF-8", Head + "foo: a\xc3(\n" + Tail, "line 3: foo: invalid UTF-8 at byte 2"},
      {"overlong UTF-8", Head + "foo: \xc0\xaf\n" + Tail, "invalid UTF-8"},
      {"UTF-8 surrogate", Head + "foo: \xed\xa0\x80\n" + Tail, "invalid UTF-8"},
      {"truncated UTF-8", Head + "foo: \xe2\x82\n" + Tail, "invalid UTF-8"},
      {"empty line inside", "version: STSv1\n\nmode: enforce\n" + Tail, "line 2: empty line"},
      {"empty line at the end", Head + Tail + "\n", "line 5: empty line"},
      {"empty CRLF line at the end", Head + Tail + "\r\n", "line 5: empty line"},
      {"NUL byte", Head + std::string("foo: a\0b\n", 9) + Tail,
       "NUL byte at offset " + std::to_string(Head.size() + 6)},
      {"missing version", "mode: enforce\n" + Tail, "no version line"},
      {"version STSv2", "version: STSv2\nmode: enforce\n" + Tail,
       "line 1: version: unsupported value \"STSv2\""},
      {"version in lower case", "version: stsv1\nmode: enforce\n" + Tail,
       "unsupported value \"stsv1\""},
      {"Version key in upper case", "Version: STSv1\nmode: enforce\n" + Tail, "no version line"},
      {"missing mode", "version: STSv1\n" + Tail, "no mode line"},
      {"mode Enforce", "version: STSv1\nmode: Enforce\n" + Tail,
       "line 2: mode must be enforce, testing or none, not \"Enforce\""},
      {"mode report (draft name)", "version: STSv1\nmode: report\n" + Tail,
       "mode must be enforce, testing or none, not \"report\""},
      {"missing max_age", Head + "mx: mx.example.com\n", "no max_age line"},
      {"max_age 11 digits", Head + "mx: a.example\nmax_age: 12345678901\n",
       "line 4: max_age: more than 10 digits"},
      {"max_age negative", Head + "mx: a.example\nmax_age: -1\n",
       "max_age: not a decimal number \"-1\""},
      {"max_age with sign", Head + "mx: a.example\nmax_age: +1\n", "max_age: not a decimal number"},
      {"max_age with unit", Head + "mx: a.example\nmax_age: 86400s\n",
       "max_age: not a decimal number"},
      {"max_age with inner space", Head + "mx: a.example\nmax_age: 86 400\n",
       "max_age: not a decimal number"},
      {"no mx in enforce", Head + "max_age: 1\n", "no mx line in mode enforce"},
      {"no mx in testing", "version: STSv1\nmode: testing\nmax_age: 1\n",
       "no mx line in mode testing"},
      {"double wildcard", Head + "mx: *.*.example.com\nmax_age: 1\n",
       "line 3: mx: invalid pattern \"*.*.example.com\""},
      {"partial wildcard", Head + "mx: mx*.example.com\nmax_age: 1\n", "mx: invalid pattern"},
      {"Postfix-style suffix", Head + "mx: .example.com\nmax_age: 1\n", "mx: invalid pattern"},
      {"IPv4 mx", Head + "mx: 192.0.2.1\nmax_age: 1\n", "mx: invalid pattern \"192.0.2.1\""},
      {"IPv6 mx", Head + "mx: 2001:db8::25\nmax_age: 1\n", "mx: invalid pattern"},
      {"bracketed mx", Head + "mx: [192.0.2.1]\nmax_age: 1\n", "mx: invalid pattern"},
      {"underscore mx", Head + "mx: mx.exa_mple.com\nmax_age: 1\n",
       "mx: invalid pattern \"mx.exa_mple.com\""},
      {"U-label mx",
       Head + "mx: b\xc3\xbc"
              "cher.example\nmax_age: 1\n",
       "mx: invalid pattern \"b\\xc3\\xbccher.example\""},
      {"trailing-dot mx", Head + "mx: mx.example.com.\nmax_age: 1\n", "mx: invalid pattern"},
      {"mx with a space", Head + "mx: mx example.com\nmax_age: 1\n", "mx: invalid pattern"},
      {"invalid mx even in mode none", "version: STSv1\nmode: none\nmx: a_b.example\nmax_age: 1\n",
       "line 3: mx: invalid pattern"},
      {"valid mx after an invalid one", Head + "mx: -bad.example\nmx: good.example\nmax_age: 1\n",
       "line 3: mx: invalid pattern"},
      {"HTML instead of a policy", "<html><body>hi</body></html>\n", "line 1: missing ':'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.body);
    const auto got = parsePolicy(c.body);
    CAPTURE(describe(got));
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
  }
}

TEST_CASE("parsePolicy rejects a body over 64 KiB as too large") {
  std::string body = Head + Tail;
  body += "pad: " + std::string(MaxPolicyBodyBytes - body.size() - 6, 'x') + "\n";
  REQUIRE(body.size() == MaxPolicyBodyBytes);
  const auto at_limit = parsePolicy(body);
  CAPTURE(describe(at_limit));
  CHECK(at_limit.has_value());

  body.insert(body.size() - 1, "x");
  const auto over = parsePolicy(body);
  REQUIRE_FALSE(over.has_value());
  CHECK(over.error().code == ErrorCode::TooLarge);
  CHECK(over.error().detail.find("65537 bytes, limit 65536") != std::string::npos);
}

TEST_CASE("the densest bodies within the size limit stay within MaxPolicyLines and MaxPolicyMxLines") {
  struct Case { const char* name; std::string line; bool mx; };
  const Case cases[] = {{"shortest mx lines", "mx:a\n", true}, {"shortest extension lines", "k:v\n", false}};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    std::string body = "version:STSv1\nmode:enforce\nmax_age:1\nmx:a";  // the last line needs no LF
    while (body.size() + c.line.size() <= MaxPolicyBodyBytes) body.insert(0, c.line);
    const auto got = parsePolicy(body);
    CAPTURE(describe(got));
    REQUIRE(got.has_value());
    CHECK(got->lines.size() <= MaxPolicyLines);
    CHECK(got->mx.size() <= MaxPolicyMxLines);
    // The bounds are tight: within a few lines of what the densest body holds.
    if (c.mx) CHECK(got->mx.size() + 10 >= MaxPolicyMxLines);
    if (!c.mx) CHECK(got->lines.size() + 10 >= MaxPolicyLines);
  }
}

TEST_CASE("parsePolicy records every key: value line in order, unknown keys too") {
  const auto ok = parsePolicy(
      "version: STSv1\r\nmode:\tenforce\nmx: MX.example.com  \nfoo: bar  baz\nmode: testing\n"
      "max_age: 604800");
  CAPTURE(describe(ok));
  REQUIRE(ok.has_value());
  const std::vector<std::pair<std::string, std::string>> want = {
      {"version", "STSv1"}, {"mode", "enforce"}, {"mx", "MX.example.com"},
      {"foo", "bar  baz"},  {"mode", "testing"}, {"max_age", "604800"},
  };
  CHECK(ok->lines == want);
  CHECK(ok->mx == std::vector<std::string>{"mx.example.com"});
}

TEST_CASE("parsePolicyDetailed names the line, the field and the refused value apart") {
  struct Case {
    const char* name;
    std::string body;
    std::size_t want_line;
    std::string want_key;
    std::string want_reason;
    std::string want_value;
  };
  const Case cases[] = {
      {"the how-to's mode: test", "version: STSv1\nmode: test\n" + Tail, 2, "mode",
       "mode must be enforce, testing or none", "\"test\""},
      {"mode in upper case", "version: STSv1\r\nmode: ENFORCE\r\n" + Tail, 2, "mode",
       "mode must be enforce, testing or none", "\"ENFORCE\""},
      {"bad mx pattern", Head + "mx: mx*.example.com\nmax_age: 1\n", 3, "mx",
       "mx: invalid pattern \"mx*.example.com\" (want a hostname in A-label form or \"*.\" + hostname, "
       "not an IP address)",
       ""},
      {"space before the colon", "version: STSv1\nmode : enforce\n" + Tail, 2, "",
       "whitespace before ':'", ""},
      {"max_age with a unit", Head + "mx: a.example\nmax_age: 1d\n", 4, "max_age",
       "max_age: not a decimal number \"1d\"", ""},
      {"an empty extension value", Head + "foo:\n" + Tail, 3, "foo", "foo: empty value", ""},
      {"no mx line", Head + "max_age: 1\n", 0, "mx", "no mx line in mode enforce", ""},
      {"no version line", "mode: enforce\n" + Tail, 0, "version", "no version line", ""},
      {"empty body", "", 0, "", "empty policy", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = parsePolicyDetailed(c.body);
    const auto* problem = std::get_if<PolicyProblem>(&got);
    REQUIRE(problem != nullptr);
    CHECK(problem->code == ErrorCode::InvalidInput);
    CHECK(problem->line == c.want_line);
    CHECK(problem->key == c.want_key);
    CHECK(problem->reason == c.want_reason);
    CHECK(problem->value == c.want_value);
    // parsePolicy() says the same in one line.
    const auto flat = parsePolicy(c.body);
    REQUIRE_FALSE(flat.has_value());
    CHECK(flat.error().detail == describePolicyProblem(*problem));
  }
  CHECK(describePolicyProblem(std::get<PolicyProblem>(parsePolicyDetailed("version: STSv1\nmode: test\n" + Tail))) ==
        "line 2: mode must be enforce, testing or none, not \"test\"");
}

TEST_CASE("parsePolicyDetailed accepts what parsePolicy accepts") {
  const std::string body = "version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 99999999999";
  CHECK(std::holds_alternative<PolicyProblem>(parsePolicyDetailed(body)));  // 11 digits
  const auto ok = parsePolicyDetailed("version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 40000000\n");
  REQUIRE(std::holds_alternative<Policy>(ok));
  CHECK(std::get<Policy>(ok).max_age == MaxAgeCap);
  CHECK(std::get<Policy>(ok).mode == Mode::Testing);
}
