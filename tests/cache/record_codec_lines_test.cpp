// Record encoding version 2, policy lines: a line the parsed mode, max_age and mx reproduce
// byte for byte is stored as one code byte, any other line as a literal. The choice is pinned
// line by line for policies as the parser produces them and for hand-built records, the bytes
// by a golden; decode refuses a code it cannot satisfy and a literal a code stands for.
#include "cache/record_codec.hpp"
#include "sts/policy_parser.hpp"
#include "tests/cache/decode_checks.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::checkDecodeRefused;
using mtasts::cache::test::checkEveryTruncationRefused;
using mtasts::cache::test::hex;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::uv;

namespace {

// The line spellings of the layout, written from record_codec.hpp.
const std::string Version = "\x01";
const std::string Mode = "\x02";
const std::string MaxAge = "\x03";
const std::string Mx = "\x04";

std::string literal(std::string_view key, std::string_view value) {
  return std::string(1, '\0') + uv(key.size()) + std::string(key) + uv(value.size()) +
         std::string(value);
}

// The line count and the lines as one string.
std::string lines(const std::vector<std::string>& each) {
  std::string out = uv(each.size());
  for (const auto& line : each) out += line;
  return out;
}

PolicyRecord recordOf(sts::Policy policy) {
  PolicyRecord r;
  r.kind = EntryKind::Policy;
  r.txt_id = "id1";
  r.policy = std::move(policy);
  r.fetched_at = 1'767'225'600;
  r.expires_at = r.fetched_at + r.policy.max_age;
  return r;
}

// The line count and lines of `r`'s bytes. `r` has no failure, so its bytes end in the
// has_failure byte, and the same record without lines ends in "00 00" (no lines, no failure).
std::string linesOf(const PolicyRecord& r) {
  PolicyRecord bare = r;
  bare.policy.lines.clear();
  const std::string all = encodeRecord(r);
  // After the lines: has_failure (0) and, in version 3, the unchecked DANE state (3 zero bytes).
  constexpr std::size_t Tail = 1 + 3;
  const std::size_t start = encodeRecord(bare).size() - 1 - Tail;
  return all.substr(start, all.size() - Tail - start);
}

// Encodes `r`, checks its lines against `want`, and that the bytes decode back to `r` and
// re-encode to themselves.
void checkLines(const PolicyRecord& r, const std::string& want) {
  REQUIRE_FALSE(r.last_failure);
  REQUIRE(r.dane == DaneInfo{});
  REQUIRE(checkEncodable(r));
  CHECK_MESSAGE(hex(linesOf(r)) == hex(want), "got ", hex(linesOf(r)), " want ", hex(want));
  const std::string bytes = encodeRecord(r);
  PolicyRecord got;
  auto decoded = decodeRecord(bytes, got);
  REQUIRE_MESSAGE(decoded, decoded.error().detail);
  CHECK(recordDiff(got, r) == "");
  CHECK(encodeRecord(got) == bytes);
}

constexpr std::string_view Head = "version: STSv1\nmode: enforce\n";

}  // namespace

TEST_CASE("parsed policies store every line their fields reproduce as one code byte") {
  struct Case {
    std::string name;
    std::string body;
    std::string want;
  };
  const std::vector<Case> cases{
      {"typical policy",
       std::string(Head) + "mx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n",
       lines({Version, Mode, Mx, Mx, MaxAge})},
      {"CRLF, mode testing, fields in another order",
       "max_age: 86400\r\nmx: mx.example\r\nmode: testing\r\nversion: STSv1\r\n",
       lines({MaxAge, Mx, Mode, Version})},
      {"mode none, max_age 0, no mx", "version: STSv1\nmode: none\nmax_age: 0",
       lines({Version, Mode, MaxAge})},
      {"an upper-case mx stays literal and the next mx line still codes",
       std::string(Head) + "mx: MAIL.Example.com\nmx: backup.example.com\nmax_age: 60\n",
       lines({Version, Mode, literal("mx", "MAIL.Example.com"), Mx, MaxAge})},
      {"a max_age over the cap stays literal",
       std::string(Head) + "mx: a.example\nmax_age: 9999999999\n",
       lines({Version, Mode, Mx, literal("max_age", "9999999999")})},
      {"a max_age of exactly the cap codes",
       std::string(Head) + "mx: a.example\nmax_age: 31557600\n",
       lines({Version, Mode, Mx, MaxAge})},
      {"a max_age with a leading zero stays literal",
       std::string(Head) + "mx: a.example\nmax_age: 0604800\n",
       lines({Version, Mode, Mx, literal("max_age", "0604800")})},
      {"unknown keys stay literal, even with a known key's value",
       std::string(Head) + "x-ext: STSv1\nMode: enforce\nmx: a.example\nmax_age: 1\nMX: a.example",
       lines({Version, Mode, literal("x-ext", "STSv1"), literal("Mode", "enforce"), Mx, MaxAge,
              literal("MX", "a.example")})},
      {"repeated lines equal to the first code too, other repeats stay literal",
       "version: STSv1\nversion: STSv2\nmode: enforce\nmode: testing\nmode: enforce\n"
       "mx: a.example\nmax_age: 10\nmax_age: 010\nmax_age: 10\nversion: STSv1\n",
       lines({Version, literal("version", "STSv2"), Mode, literal("mode", "testing"), Mode, Mx,
              MaxAge, literal("max_age", "010"), MaxAge, Version})},
      {"the same mx twice codes twice",
       std::string(Head) + "mx: a.example\nmx: a.example\nmax_age: 5",
       lines({Version, Mode, Mx, Mx, MaxAge})},
      {"whitespace the parser trims is not stored",
       "version:STSv1\nmode:   enforce  \nmx:\ta.example\nmax_age: 7",
       lines({Version, Mode, Mx, MaxAge})},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto policy = sts::parsePolicy(c.body);
    REQUIRE_MESSAGE(policy, policy.error().detail);
    checkLines(recordOf(*policy), c.want);
  }
}

TEST_CASE("in records not from the parser the n-th mx line codes only if it equals mx[n]") {
  auto policy = [](std::vector<std::string> mx, std::vector<std::pair<std::string, std::string>> l) {
    sts::Policy p;
    p.mode = sts::Mode::Testing;
    p.max_age = 0;
    p.mx = std::move(mx);
    p.lines = std::move(l);
    return p;
  };
  struct Case {
    std::string name;
    sts::Policy policy;
    std::string want;
  };
  const std::vector<Case> cases{
      {"more mx lines than entries",
       policy({"a.example"}, {{"mx", "a.example"}, {"mx", "a.example"}}),
       lines({Mx, literal("mx", "a.example")})},
      {"entries out of order",
       policy({"a.example", "b.example"}, {{"mx", "b.example"}, {"mx", "a.example"}}),
       lines({literal("mx", "b.example"), literal("mx", "a.example")})},
      {"a literal mx line takes its entry too",
       policy({"a.example", "b.example"}, {{"mx", "x.example"}, {"mx", "b.example"}}),
       lines({literal("mx", "x.example"), Mx})},
      {"fewer mx lines than entries", policy({"a.example", "b.example"}, {{"mx", "a.example"}}),
       lines({Mx})},
      {"a key other than mx takes no entry",
       policy({"a.example"}, {{"MX", "a.example"}, {"mx ", "a.example"}, {"mx", "a.example"}}),
       lines({literal("MX", "a.example"), literal("mx ", "a.example"), Mx})},
      {"an mx line with no entries at all", policy({}, {{"mx", "a.example"}}),
       lines({literal("mx", "a.example")})},
      {"an empty mx entry and value", policy({""}, {{"mx", ""}}), lines({Mx})},
      {"max_age 0 codes only as \"0\"",
       policy({}, {{"max_age", "0"}, {"max_age", "00"}, {"max_age", "-0"}, {"max_age", "+0"}}),
       lines({MaxAge, literal("max_age", "00"), literal("max_age", "-0"), literal("max_age", "+0")})},
      {"mode codes only as the record's own mode",
       policy({}, {{"mode", "testing"}, {"mode", "enforce"}, {"mode", "none"}, {"mode", "Testing"}}),
       lines({Mode, literal("mode", "enforce"), literal("mode", "none"), literal("mode", "Testing")})},
      {"version codes only as exactly STSv1",
       policy({}, {{"version", "STSv1 "}, {"version", "stsv1"}, {"version", "STSv1"}}),
       lines({literal("version", "STSv1 "), literal("version", "stsv1"), Version})},
      {"no lines", policy({"a.example"}, {}), lines({})},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    checkLines(recordOf(c.policy), c.want);
  }
}

namespace {

// A policy record whose lines use every code and a literal; its bytes are spelled out below.
PolicyRecord goldenPolicy() {
  PolicyRecord r;
  r.kind = EntryKind::Policy;
  r.txt_id = "id";
  r.policy.mode = sts::Mode::Testing;
  r.policy.max_age = 86400;
  r.policy.mx = {"a.test"};
  r.policy.lines = {{"version", "STSv1"}, {"mode", "testing"}, {"mx", "a.test"},
                    {"max_age", "86400"}, {"x", "y"}};
  return r;
}

// version kind | txt_id "id" | 4 times | mode max_age(86400) | mx# "a.test" |
// line# version mode mx max_age literal "x: y" | has_failure | dane state checked_at expires_at
constexpr std::string_view GoldenPolicyHex = "0301" "026964" "00000000" "0280a305" "0106612e74657374" "05"
                                             "01" "02" "04" "03" "0001780179" "00" "000000";
constexpr std::size_t FirstLine = 22;  // offset of the first line code in the golden bytes

std::string goldenPolicyBytes() { return encodeRecord(goldenPolicy()); }

// The golden bytes with the lines from FirstLine on replaced by `with` (and the count kept),
// then no failure and an unchecked DANE state.
std::string withLines(std::string_view with) {
  return goldenPolicyBytes().substr(0, FirstLine) + std::string(with) + std::string(4, '\0');
}

}  // namespace

TEST_CASE("version 3 policy lines follow the documented layout") {
  CHECK(hex(goldenPolicyBytes()) == GoldenPolicyHex);
  PolicyRecord got;
  REQUIRE(decodeRecord(goldenPolicyBytes(), got));
  CHECK(recordDiff(got, goldenPolicy()) == "");
  CHECK(hex(withLines(Version + Mode + Mx + MaxAge + literal("x", "y"))) == GoldenPolicyHex);
}

TEST_CASE("decode refuses line codes it cannot satisfy and literals a code stands for") {
  const std::string y = literal("x", "y");
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"unknown code 5", withLines(Version + Mode + Mx + MaxAge + "\x05"), "line 4 has unknown code 5"},
      {"unknown code 255", withLines("\xff" + Mode + Mx + MaxAge + y), "line 0 has unknown code 255"},
      {"code 4 with no mx entry left", withLines(Version + Mode + Mx + MaxAge + Mx),
       "line 4 has code 4 (mx) but no mx entry left"},
      {"code 4 after a literal took the only entry",
       withLines(Version + Mode + literal("mx", "A.test") + MaxAge + Mx),
       "line 4 has code 4 (mx) but no mx entry left"},
      {"literal version: STSv1", withLines(literal("version", "STSv1") + Mode + Mx + MaxAge + y),
       "line 0 is a non-canonical literal line (code 1)"},
      {"literal mode: testing", withLines(Version + literal("mode", "testing") + Mx + MaxAge + y),
       "line 1 is a non-canonical literal line (code 2)"},
      {"literal mx equal to its entry", withLines(Version + Mode + literal("mx", "a.test") + MaxAge + y),
       "line 2 is a non-canonical literal line (code 4)"},
      {"literal max_age: 86400", withLines(Version + Mode + Mx + literal("max_age", "86400") + y),
       "line 3 is a non-canonical literal line (code 3)"},
      {"a line code cut by the end",  // two lines: an empty literal, then nothing
       goldenPolicyBytes().substr(0, FirstLine - 1) + uv(2) + std::string(3, '\0'),
       "truncated at field line code"},
      {"a literal cut inside its value", goldenPolicyBytes().substr(0, GoldenPolicyHex.size() / 2 - 5),
       "field line value length 1 runs past the end"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(hex(c.bytes));
    checkDecodeRefused(c.bytes, c.reason);
  }
}

TEST_CASE("every truncation of a record with coded lines fails cleanly with a reason") {
  checkEveryTruncationRefused(goldenPolicyBytes());
}
