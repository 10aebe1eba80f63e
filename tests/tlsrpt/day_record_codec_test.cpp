// The day store's record encoding: the documented byte layout, round trips, canonical form
// (every alternative spelling refused), bounds, every truncation refused, and the keys.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_record_codec.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

// Unsigned LEB128 written from the layout, not by the codec.
std::string uv(std::uint64_t v) {
  std::string s;
  for (; v >= 0x80; v >>= 7) s.push_back(static_cast<char>((v & 0x7f) | 0x80));
  s.push_back(static_cast<char>(v));
  return s;
}

std::string str(std::string_view s) { return uv(s.size()) + std::string(s); }

// A minimal entry spelled by hand: no-policy-found, no strings, one success from a datagram.
std::string minimalBytes() {
  return std::string("\x01\x09", 2) + str("example.org") + uv(0) + uv(0) + str("v=TLSRPTv1; rua=mailto:r@example.org") +
         uv(1) + uv(0) + uv(1) + uv(0) + uv(0) + uv(0);
}

}  // namespace

TEST_CASE("a day record has the documented layout") {
  DayEntry e;
  e.counts.policy.type = PolicyType::NoPolicyFound;
  e.counts.policy.domain = "example.org";
  e.tlsrpt_record = "v=TLSRPTv1; rua=mailto:r@example.org";
  e.counts.successful_sessions = 1;
  e.sources = {1, 0, 0};
  CHECK(encodeDayRecord(e) == minimalBytes());

  DayEntry f;
  f.counts.policy.type = PolicyType::Sts;
  f.counts.failed_sessions = 300;
  f.sources = {0, 300, 0};
  FailureDetail d;
  d.result = TlsRptResultType::StsWebpkiInvalid;
  d.failure_reason_code = "x";
  f.counts.failures = {FailureCount{d, 300}};
  const std::string want = std::string("\x01\x02", 2) + str("") + uv(0) + uv(0) + str("") + uv(0) + uv(300) + uv(0) +
                           uv(300) + uv(0) + uv(1) + uv(303) + str("") + str("") + str("") + str("") + str("") +
                           str("x") + uv(300);
  CHECK(encodeDayRecord(f) == want);
}

TEST_CASE("day records round-trip and re-encode to the same bytes") {
  DayEntry e = sampleEntry();
  e.counts.policy.strings.push_back(std::string("\xe4 raw byte", 10));
  e.counts.failures.push_back(FailureCount{overflowRow(TlsRptResultType::DaneRequired), UINT64_MAX});
  REQUIRE(checkDayRecordEncodable(e));
  const std::string bytes = encodeDayRecord(e);
  DayEntry back;
  back.day = e.day;
  back.domain = e.domain;
  REQUIRE(decodeDayRecord(bytes, back));
  CHECK(entryDiff(back, e) == "");
  CHECK(encodeDayRecord(back) == bytes);
}

TEST_CASE("every truncation of a day record is refused with a reason") {
  const std::string bytes = encodeDayRecord(sampleEntry());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    DayEntry out;
    auto r = decodeDayRecord(std::string_view(bytes).substr(0, n), out);
    REQUIRE_FALSE(r);
    CHECK_FALSE(r.error().detail.empty());
  }
}

TEST_CASE("non-canonical or invalid day records are refused") {
  const std::string good = minimalBytes();
  struct Case {
    const char* name;
    std::string bytes;
    const char* reason;
  };
  std::string overlong = good;
  overlong.replace(overlong.size() - 6, 1, "\x81\x00", 2);  // successful = 1 written in two bytes
  std::string rows_unsorted = encodeDayRecord(sampleEntry());
  DayEntry swapped = sampleEntry();
  std::swap(swapped.counts.failures[0], swapped.counts.failures[1]);
  std::string zero_row = encodeDayRecord(sampleEntry());
  zero_row.back() = '\0';  // last row's count 2 -> 0
  const Case cases[] = {
      {"version 2", "\x02" + good.substr(1), "unknown day record version"},
      {"policy type 3", std::string("\x01\x03", 2) + good.substr(2), "unknown policy type"},
      {"trailing byte", good + "x", "trailing bytes"},
      {"overlong varint", overlong, "non-canonical varint"},
      {"unsorted rows", encodeDayRecord(swapped), "not sorted"},
      {"row count 0", zero_row, "count of 0"},
      {"huge string length", std::string("\x01\x02", 2) + uv(MaxDayRecordStringBytes + 1), "exceeds"},
      {"list longer than the bytes", std::string("\x01\x02", 2) + str("") + uv(1000), "truncated"},
      {"varint over 64 bits", std::string("\x01\x02", 2) + std::string(10, '\xff') + "\x01", "over 64 bits"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DayEntry out;
    auto r = decodeDayRecord(c.bytes, out);
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(r.error().detail.find(c.reason) != std::string::npos, "got: ", r.error().detail);
  }
}

TEST_CASE("an entry past the record bounds is refused before encoding") {
  DayEntry e = sampleEntry();
  SUBCASE("string") { e.tlsrpt_record.assign(MaxDayRecordStringBytes + 1, 'x'); }
  SUBCASE("rows") {
    e.counts.failures.clear();
    for (std::size_t i = 0; i <= MaxDayRecordRows; ++i) {
      e.counts.failures.push_back(FailureCount{failureRow(TlsRptResultType::CertificateExpired, std::to_string(i)), 1});
    }
    std::sort(e.counts.failures.begin(), e.counts.failures.end(),
              [](const auto& a, const auto& b) { return a.detail < b.detail; });
  }
  SUBCASE("unsorted rows") { std::swap(e.counts.failures[0], e.counts.failures[1]); }
  CHECK_FALSE(checkDayRecordEncodable(e));
}

TEST_CASE("day store keys sort by day then domain and parse back") {
  const EntryDigest digest = entryDigest(stsPolicy(), "r");
  const std::string key = dayEntryKey(UtcDay{20'000}, "example.com", digest, 0);
  CHECK(key.starts_with("2024-10-04 example.com "));
  CHECK(key.size() == 11 + 11 + 1 + 32);
  CHECK(dayEntryKey(UtcDay{20'000}, "example.com", digest, 2) == key + "~2");
  CHECK(dayKeyPrefix(UtcDay{20'000}) < dayKeyPrefix(UtcDay{20'001}));
  CHECK(dayEntryKey(UtcDay{20'000}, "b.example", digest, 0) < dayEntryKey(UtcDay{20'001}, "a.example", digest, 0));
  CHECK(dayEntryKey(UtcDay{20'000}, std::string(253, 'a'), digest, 3).size() <= 511);
  for (int probe = 0; probe <= MaxKeyProbe; ++probe) {
    auto parsed = parseDayEntryKey(dayEntryKey(UtcDay{20'000}, "example.com", digest, probe));
    REQUIRE(parsed);
    CHECK(parsed->day == UtcDay{20'000});
    CHECK(parsed->domain == "example.com");
    CHECK(parsed->digest == digest);
    CHECK(parsed->probe == probe);
  }
  for (const char* bad : {"", "2024-10-04", "2024-13-04 example.com 00000000000000000000000000000000",
                          "2024-10-04 Example.com 00000000000000000000000000000000",
                          "2024-10-04 example.com 0000000000000000000000000000000",
                          "2024-10-04 example.com 0000000000000000000000000000000G",
                          "2024-10-04 example.com 00000000000000000000000000000000~4",
                          "2024-10-04 ex_ample.com 00000000000000000000000000000000"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseDayEntryKey(bad));
  }
}

TEST_CASE("the fuzz seeds named valid decode and those named invalid do not") {
  std::size_t seen = 0;
  for (const auto& file : std::filesystem::directory_iterator(MTASTS_DAY_RECORD_CORPUS)) {
    const std::string name = file.path().filename().string();
    if (name.starts_with("key-") || name.starts_with("counters-")) continue;
    std::ifstream in(file.path(), std::ios::binary);
    std::string bytes;
    for (char c = 0; in.get(c);) bytes.push_back(c);
    DayEntry out;
    CAPTURE(name);
    CHECK(static_cast<bool>(decodeDayRecord(bytes, out)) == name.starts_with("valid-"));
    ++seen;
  }
  CHECK(seen >= 9);
}

TEST_CASE("collector counters round-trip, unknown names included, and bad names are refused") {
  CollectorCounters c;
  c.started_at = -5;
  c.last_commit = 1'700'000'000;
  c.values = {{"received", 7}, {"some-future-counter", UINT64_MAX}};
  const std::string bytes = encodeCounters(c);
  CollectorCounters back;
  REQUIRE(decodeCounters(bytes, back));
  CHECK(back == c);
  CHECK(back.value("received") == 7);
  CHECK(back.value("absent") == 0);
  c.values.emplace_back("Not Valid", 1);  // left out when written
  CHECK(encodeCounters(c) == bytes);
  CHECK_FALSE(decodeCounters(bytes + "x", back));
  CHECK_FALSE(decodeCounters("\x02", back));
}
