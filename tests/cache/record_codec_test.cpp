// Record encoding version 3 (what encodeRecord writes): round trips, the byte layout pinned
// by a golden, canonical varints, malformed input refused with a reason, version 2 records
// of the previous release read with DANE unchecked, and its size against version 1. The policy line codes: record_codec_lines_test.cpp. Version 1 decoding
// and the fuzz corpus: record_codec_v1_test.cpp.
#include "cache/record_codec.hpp"
#include "tests/cache/decode_checks.hpp"
#include "tests/cache/record_v1_writer.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::checkDecodeRefused;
using mtasts::cache::test::checkEveryTruncationRefused;
using mtasts::cache::test::hex;
using mtasts::cache::test::negativeRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::RecordV1Writer;
using mtasts::cache::test::sampleRecord;
using mtasts::cache::test::uv;

namespace {

constexpr std::int64_t Int64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t Int64Max = std::numeric_limits<std::int64_t>::max();

// A small record whose version 3 bytes are spelled out in GoldenHex below.
PolicyRecord goldenRecord() {
  PolicyRecord r;
  r.kind = EntryKind::NoPolicy;
  r.txt_id = "ab";
  r.fetched_at = -1;      // zigzag 1
  r.expires_at = 300;     // zigzag 600 = d8 04
  r.txt_checked_at = 0;   // zigzag 0
  r.last_used = 63;       // zigzag 126 = 7e
  r.last_failure = FailureInfo{-64, TlsRptResultType::DaneRequired, "", "x"};  // -64: 7f
  r.dane = DaneInfo{DaneState::Usable, 1, 2};  // zigzag 2, 4
  return r;
}

// version kind | txt_id "ab" | 4 times | mode max_age mx# line# | has_failure at type(306) reason txt_id
// | dane state checked_at expires_at
constexpr std::string_view GoldenHex =
    "0302" "026162" "01d804007e" "03000000" "017fb2020001" "78" "030204";

// Offsets in the golden bytes, for the malformed cases below.
constexpr std::size_t TxtIdLength = 2, FetchedAt = 5, ExpiresAt = 6, Mode = 10, MaxAge = 11,
                      MxCount = 12, LineCount = 13, HasFailure = 14, FailureType = 16, DaneAt = 21;

std::string golden() { return encodeRecord(goldenRecord()); }

std::string spliced(std::string bytes, std::size_t at, std::size_t erase, std::string_view with) {
  return bytes.replace(at, erase, with);
}

PolicyRecord withDane(PolicyRecord r, DaneState state) {
  r.dane = DaneInfo{state, 1'767'225'600, 1'767'225'900};
  return r;
}

PolicyRecord manyMx(std::size_t n) {
  PolicyRecord r = sampleRecord("many");
  r.policy.mx.clear();
  r.policy.lines = {{"version", "STSv1"}, {"mode", "enforce"}};
  for (std::size_t i = 0; i < n; ++i) {
    r.policy.mx.push_back("mx" + std::to_string(i) + ".example.org");
    r.policy.lines.emplace_back("mx", r.policy.mx.back());
  }
  r.policy.lines.emplace_back("max_age", "86400");
  r.last_failure.reset();
  return r;
}

PolicyRecord maxValues() {
  PolicyRecord r = sampleRecord(std::string(MaxRecordStringBytes, 'i'));
  r.policy.max_age = sts::MaxAgeCap;
  r.fetched_at = Int64Max;
  r.expires_at = Int64Min;
  r.txt_checked_at = Int64Max;
  r.last_used = Int64Min;
  r.policy.mx.assign(MaxRecordMxCount, "m.example");
  r.policy.lines.assign(MaxRecordLineCount, {"k", std::string(20, 'v')});
  r.policy.lines.back().second.assign(MaxRecordStringBytes, 'v');
  r.last_failure = FailureInfo{Int64Min, TlsRptResultType::DaneRequired,
                               std::string(MaxRecordStringBytes, 'r'), "z"};
  return r;
}

// A cached policy as the daemon stores it (no failure), fetched 2026-01-01.
PolicyRecord cachedPolicy(std::string id, std::vector<std::string> mx) {
  PolicyRecord r;
  r.kind = EntryKind::Policy;
  r.txt_id = std::move(id);
  r.policy.mode = sts::Mode::Enforce;
  r.policy.max_age = 604800;
  r.policy.lines = {{"version", "STSv1"}, {"mode", "enforce"}};
  for (const auto& m : mx) r.policy.lines.emplace_back("mx", m);
  r.policy.lines.emplace_back("max_age", "604800");
  r.policy.mx = std::move(mx);
  r.fetched_at = 1'767'225'600;
  r.expires_at = r.fetched_at + 604800;
  r.txt_checked_at = r.fetched_at + 3600;
  r.last_used = r.fetched_at + 3700;
  return r;
}

}  // namespace

TEST_CASE("a record survives encode then decode unchanged and re-encodes to the same bytes") {
  PolicyRecord testing = sampleRecord("x1");
  testing.policy.mode = sts::Mode::Testing;
  testing.fetched_at = -5;  // negative times are representable, whatever they mean
  testing.last_failure->at = -1'700'000'000;
  PolicyRecord failed = negativeRecord();
  failed.kind = EntryKind::LookupFailed;
  failed.last_failure = FailureInfo{42, TlsRptResultType::DaneRequired, "", ""};
  PolicyRecord none = sampleRecord("n");
  none.policy.mode = sts::Mode::None;
  none.policy.mx.clear();
  none.policy.lines = {{"version", "STSv1"}, {"mode", "none"}, {"max_age", "0"}};
  none.policy.max_age = 0;
  struct Case {
    std::string name;
    PolicyRecord record;
  };
  const std::vector<Case> cases{
      {"policy with a failure", sampleRecord()},
      {"policy without a failure", cachedPolicy("20260101T000000", {"mail.example.com"})},
      {"negative entry", negativeRecord()},
      {"negative entry with negative times", negativeRecord(-3600)},
      {"testing mode, negative times", testing},
      {"mode none, no mx", none},
      {"lookup failed with an empty failure", failed},
      {"policy with DANE usable", withDane(sampleRecord(), DaneState::Usable)},
      {"negative entry with DANE bogus", withDane(negativeRecord(), DaneState::Bogus)},
      {"every DANE state", withDane(negativeRecord(), DaneState::MxFailed)},
      {"policy with 500 mx", manyMx(500)},
      {"every count, length and time at its bound", maxValues()},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    REQUIRE(checkEncodable(c.record));
    const std::string bytes = encodeRecord(c.record);
    CHECK(static_cast<std::uint8_t>(bytes[0]) == 3);
    PolicyRecord got;
    auto decoded = decodeRecord(bytes, got);
    REQUIRE_MESSAGE(decoded, decoded.error().detail);
    CHECK(recordDiff(got, c.record) == "");
    CHECK(encodeRecord(got) == bytes);
  }
}

TEST_CASE("version 3 bytes follow the documented layout") {
  CHECK(hex(golden()) == GoldenHex);
  PolicyRecord got;
  REQUIRE(decodeRecord(golden(), got));
  CHECK(recordDiff(got, goldenRecord()) == "");
}

TEST_CASE("times are zigzag varints: small values of either sign take one byte") {
  struct Case {
    std::int64_t time;
    std::size_t bytes;
  };
  const Case cases[] = {{0, 1},        {-1, 1},         {63, 1},          {-64, 1},
                        {64, 2},       {-65, 2},        {8191, 2},        {8192, 3},
                        {1'767'225'600, 5}, {Int64Max, 10}, {Int64Min, 10}};
  PolicyRecord base = negativeRecord(0);
  base.expires_at = 0;
  const std::size_t base_size = encodeRecord(base).size();
  for (const auto& c : cases) {
    CAPTURE(c.time);
    PolicyRecord r = base;
    r.last_used = c.time;
    const std::string bytes = encodeRecord(r);
    CHECK(bytes.size() - base_size + 1 == c.bytes);  // the base record spells last_used as 00
    PolicyRecord got;
    REQUIRE(decodeRecord(bytes, got));
    CHECK(got.last_used == c.time);
  }
}

TEST_CASE("decoding reuses the capacity of the caller's strings") {
  PolicyRecord out = sampleRecord(std::string(32, 'a'));
  REQUIRE(decodeRecord(encodeRecord(out), out));
  const char* id_buffer = out.txt_id.data();
  const char* mx_buffer = out.policy.mx[0].data();
  // "mail.example.com" is past the small-string size: a coded line copies it into the
  // line's own buffer, which the next decode must reuse.
  REQUIRE(out.policy.lines[2] == std::pair<std::string, std::string>{"mx", "mail.example.com"});
  const char* line_buffer = out.policy.lines[2].second.data();
  PolicyRecord next = sampleRecord(std::string(31, 'b'));
  next.policy.mx[0] = "mail.example.org";
  next.policy.lines[2].second = "mail.example.org";
  REQUIRE(decodeRecord(encodeRecord(next), out));
  CHECK(recordDiff(out, next) == "");
  CHECK(out.txt_id.data() == id_buffer);
  CHECK(out.policy.mx[0].data() == mx_buffer);
  CHECK(out.policy.lines[2].second.data() == line_buffer);
}

TEST_CASE("decoding into a used record replaces every field and drops a stale failure") {
  PolicyRecord out = sampleRecord("old-id");
  out.policy.mx.resize(7, "stale.example");
  PolicyRecord want = negativeRecord();
  REQUIRE(decodeRecord(encodeRecord(want), out));
  CHECK(recordDiff(out, want) == "");
}

TEST_CASE("every truncation of a version 3 record fails cleanly with a reason") {
  for (const std::string& bytes : {golden(), encodeRecord(sampleRecord()), encodeRecord(manyMx(3))}) {
    checkEveryTruncationRefused(bytes);
  }
}

TEST_CASE("decode refuses malformed version 3 records and says why") {
  const std::string g = golden();
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"empty", "", "truncated at field version"},
      {"version 0", spliced(g, 0, 1, uv(0)), "encoding version 0 is not supported"},
      {"version 4", spliced(g, 0, 1, uv(4)), "encoding version 4 is not supported"},
      {"unknown kind", spliced(g, 1, 1, "\x09"), "unknown kind 9"},
      {"overlong length (82 00 for 2)", spliced(g, TxtIdLength, 1, std::string("\x82\x00", 2)),
       "field txt_id varint is overlong"},
      {"overlong zero (80 00)", spliced(g, FetchedAt, 1, std::string("\x80\x00", 2)),
       "field fetched_at varint is overlong"},
      {"overlong at ten bytes", spliced(g, FetchedAt, 1, std::string(9, '\xff') + '\0'),
       "field fetched_at varint is overlong"},
      {"varint past 64 bits", spliced(g, FetchedAt, 1, std::string(9, '\xff') + '\x02'),
       "field fetched_at varint overflows 64 bits"},
      {"eleven-byte varint", spliced(g, FetchedAt, 1, std::string(10, '\x80') + '\x01'),
       "overflows 64 bits"},
      {"varint cut by the end", g.substr(0, ExpiresAt + 1), "truncated at field expires_at"},
      {"string over the bound", spliced(g, TxtIdLength, 1, uv(MaxRecordStringBytes + 1)),
       "field txt_id length 66561 exceeds 66560"},
      {"length past the end", spliced(g, TxtIdLength, 1, uv(g.size())), "runs past the end"},
      {"huge length", spliced(g, TxtIdLength, 1, uv(0xffffffffffffULL)), "exceeds"},
      {"unknown mode", spliced(g, Mode, 1, "\x04"), "unknown policy mode 4"},
      {"max_age over the cap", spliced(g, MaxAge, 1, uv(sts::MaxAgeCap + 1)),
       "max_age value 31557601 exceeds 31557600"},
      {"too many mx", spliced(g, MxCount, 1, uv(MaxRecordMxCount + 1)), "mx count 16385 exceeds"},
      {"too many lines", spliced(g, LineCount, 1, uv(MaxRecordLineCount + 1)),
       "line count 40001 exceeds"},
      // Every element takes a byte at least: refused before a vector is sized for them.
      {"more mx than bytes left", spliced(g, MxCount, 1, uv(100)),
       "mx count 100 exceeds the 11 bytes left"},
      {"more lines than bytes left", spliced(g, LineCount, 1, uv(100)),
       "line count 100 exceeds the 10 bytes left"},
      {"has_failure not a bool", spliced(g, HasFailure, g.size() - HasFailure, "\x07"),
       "has_failure flag is 7"},
      {"unknown failure type", spliced(g, FailureType, 2, uv(200)), "unknown failure type 200"},
      {"failure type over 16 bits", spliced(g, FailureType, 2, uv(65536 + 306)),
       "failure type code 65842 exceeds 65535"},
      {"unknown dane state", spliced(g, DaneAt, 1, "\x07"), "unknown dane state 7"},
      {"dane times cut by the end", g.substr(0, DaneAt + 1), "truncated at field dane checked_at"},
      {"trailing garbage", g + "x", "1 bytes of trailing garbage"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(hex(c.bytes));
    checkDecodeRefused(c.bytes, c.reason);
  }
}

// A policy the store refuses is applied once, then fetched again on every query.
TEST_CASE("every policy the parser accepts is storable, the densest ones too") {
  const std::vector<std::string> densest = {"mx:a\n", "k:v\n", "mx: " + std::string(63, 'm') + "\n"};
  for (const auto& line : densest) {
    CAPTURE(line);
    std::string body = "version:STSv1\nmode:enforce\nmax_age:1\nmx:a\n";
    while (body.size() + line.size() <= sts::MaxPolicyBodyBytes) body += line;
    auto policy = sts::parsePolicy(body);
    REQUIRE(policy.has_value());
    PolicyRecord r = sampleRecord();
    r.policy = std::move(*policy);
    auto ok = checkEncodable(r);
    CAPTURE((ok ? std::string() : ok.error().detail));
    REQUIRE(ok.has_value());
    PolicyRecord out;
    REQUIRE(decodeRecord(encodeRecord(r), out).has_value());
    CHECK(recordDiff(out, r).empty());
  }
}

TEST_CASE("checkEncodable refuses what decode would refuse") {
  PolicyRecord r = sampleRecord();
  SUBCASE("an oversized policy line") {
    r.policy.lines.back().second.assign(MaxRecordStringBytes + 1, 'a');
    CHECK(checkEncodable(r).error().code == ErrorCode::TooLarge);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("too many mx patterns") {
    r.policy.mx.assign(MaxRecordMxCount + 1, "a.example");
    CHECK(checkEncodable(r).error().code == ErrorCode::TooLarge);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("a max_age past the RFC cap") {
    r.policy.max_age = sts::MaxAgeCap + 1;
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("a negative max_age") {
    r.policy.max_age = -1;
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("an unknown DANE state") {
    r.dane.state = static_cast<cache::DaneState>(MaxDaneState + 1);
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("an unknown kind") {
    r.kind = static_cast<EntryKind>(0);
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
}

TEST_CASE("version 2 records of the previous release decode with DANE unchecked, and re-encode as version 3") {
  for (const PolicyRecord& record : {sampleRecord(), negativeRecord(), cachedPolicy("v2", {"mx.example.org"})}) {
    CAPTURE(record.txt_id);
    // Version 2 was version 3 without the DANE fields (state, checked_at, expires_at).
    std::string v2 = encodeRecord(record);
    REQUIRE(hex(v2.substr(v2.size() - 3)) == "000000");
    v2.resize(v2.size() - 3);
    v2[0] = 2;
    PolicyRecord got = withDane(sampleRecord("stale"), DaneState::Usable);
    auto decoded = decodeRecord(v2, got);
    REQUIRE_MESSAGE(decoded, decoded.error().detail);
    CHECK(recordDiff(got, record) == "");
    CHECK(got.dane == DaneInfo{});
    const std::string v3 = encodeRecord(got);
    CHECK(static_cast<std::uint8_t>(v3[0]) == 3);
    CHECK(v3.size() == v2.size() + 3);
    checkDecodeRefused(v2 + "\x03", "1 bytes of trailing garbage");  // no DANE fields in version 2
  }
}

TEST_CASE("version 3 stores a cached policy in fewer bytes than version 1 did") {
  struct Case {
    std::string name;
    PolicyRecord record;
  };
  const std::vector<Case> cases{
      {"typical policy", cachedPolicy("20260101T000000", {"mail.example.com", "*.example.net"})},
      {"benchmark policy", cachedPolicy("bench42", {"mx.bench.test"})},
      {"negative entry", negativeRecord(1'767'225'600)},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    // Version 1 as the previous release stored it: the fetched body beside the parsed form.
    const std::size_t v1 = RecordV1Writer::encode(c.record, RecordV1Writer::bodyOf(c.record)).size();
    const std::size_t v1_no_body = RecordV1Writer::encode(c.record, "").size();
    const std::size_t v3 = encodeRecord(c.record).size();
    MESSAGE(c.name, ": v1 ", v1, " bytes (", v1_no_body, " without the body), v3 ", v3, " bytes");
    CHECK(v3 < v1_no_body);
    CHECK(v3 < v1);
  }
}
