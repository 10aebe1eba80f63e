#include "cache/record_codec.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::negativeRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::sampleRecord;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string u32le(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// Byte offset of the txt_id length in version 1 (after version and kind).
constexpr std::size_t TxtIdLengthOffset = 2;

// Reads a whole (small) seed file; istreambuf_iterator trips g++ 12's -Wnull-dereference.
std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

}  // namespace

TEST_CASE("a record survives encode then decode unchanged") {
  PolicyRecord with_failure = sampleRecord();
  PolicyRecord negative = negativeRecord();
  PolicyRecord testing = sampleRecord("x1");
  testing.policy.mode = sts::Mode::Testing;
  testing.fetched_at = -5;  // negative times are representable, whatever they mean
  PolicyRecord failed = negativeRecord();
  failed.kind = EntryKind::LookupFailed;
  failed.last_failure = FailureInfo{42, TlsRptResultType::DaneRequired, "", ""};
  const PolicyRecord* cases[] = {&with_failure, &negative, &testing, &failed};
  for (const PolicyRecord* want : cases) {
    CAPTURE(want->txt_id);
    REQUIRE(checkEncodable(*want));
    std::string bytes = encodeRecord(*want);
    CHECK(static_cast<std::uint8_t>(bytes[0]) == RecordEncodingVersion);
    PolicyRecord got;
    auto decoded = decodeRecord(bytes, got);
    REQUIRE_MESSAGE(decoded, decoded.error().detail);
    CHECK(recordDiff(got, *want) == "");
    CHECK(encodeRecord(got) == bytes);
  }
}

TEST_CASE("decoding into a used record replaces every field and drops a stale failure") {
  PolicyRecord out = sampleRecord("old-id");
  out.policy.mx.resize(7, "stale.example");
  PolicyRecord want = negativeRecord();
  REQUIRE(decodeRecord(encodeRecord(want), out));
  CHECK(recordDiff(out, want) == "");
}

TEST_CASE("decoding reuses the capacity of the caller's strings") {
  PolicyRecord out = sampleRecord();
  REQUIRE(decodeRecord(encodeRecord(sampleRecord()), out));
  const char* text_buffer = out.policy_text.data();
  const char* mx_buffer = out.policy.mx[0].data();
  REQUIRE(decodeRecord(encodeRecord(sampleRecord("other")), out));
  CHECK(out.policy_text.data() == text_buffer);
  CHECK(out.policy.mx[0].data() == mx_buffer);
}

TEST_CASE("every truncation of a valid record fails cleanly with a reason") {
  std::string bytes = encodeRecord(sampleRecord());
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    PolicyRecord out;
    auto decoded = decodeRecord(std::string_view(bytes).substr(0, len), out);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == ErrorCode::InvalidInput);
    CHECK_FALSE(decoded.error().detail.empty());
  }
}

TEST_CASE("decode refuses malformed records and says why") {
  const std::string valid = encodeRecord(sampleRecord());
  struct Case {
    const char* name;
    std::string bytes;
    const char* reason;
  };
  std::string version2 = valid;
  version2[0] = 2;
  std::string bad_kind = valid;
  bad_kind[1] = 9;
  std::string too_long = valid;
  too_long.replace(TxtIdLengthOffset, 4, u32le(static_cast<std::uint32_t>(MaxRecordStringBytes + 1)));
  std::string past_end = valid;
  past_end.replace(TxtIdLengthOffset, 4, u32le(static_cast<std::uint32_t>(valid.size())));
  std::string huge_length = valid;
  huge_length.replace(TxtIdLengthOffset, 4, u32le(0xffffffffU));
  // The has_failure flag follows the policy; with the sample's failure it is 1, make it 7.
  PolicyRecord no_failure = sampleRecord();
  no_failure.last_failure.reset();
  std::string flag_bytes = encodeRecord(no_failure);
  flag_bytes.back() = 7;
  std::vector<Case> cases{
      {"empty", "", "truncated at field version"},
      {"version 2", version2, "encoding version 2 is not supported"},
      {"version 0", std::string(1, '\0'), "encoding version 0 is not supported"},
      {"unknown kind", bad_kind, "unknown kind 9"},
      {"string over the bound", too_long, "exceeds"},
      {"length past the end", past_end, "runs past the end"},
      {"length 0xffffffff", huge_length, "exceeds"},
      {"trailing garbage", valid + "x", "1 bytes of trailing garbage"},
      {"has_failure not a bool", flag_bytes, "has_failure flag is 7"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    PolicyRecord out;
    auto decoded = decodeRecord(c.bytes, out);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == ErrorCode::InvalidInput);
    CHECK_MESSAGE(decoded.error().detail.find(c.reason) != std::string::npos,
                  "got: ", decoded.error().detail, " want: ", c.reason);
  }
}

TEST_CASE("checkEncodable refuses what decode would refuse") {
  PolicyRecord r = sampleRecord();
  SUBCASE("an oversized policy text") {
    r.policy_text.assign(MaxRecordStringBytes + 1, 'a');
    CHECK(checkEncodable(r).error().code == ErrorCode::TooLarge);
  }
  SUBCASE("too many mx patterns") {
    r.policy.mx.assign(MaxRecordMxCount + 1, "a.example");
    CHECK(checkEncodable(r).error().code == ErrorCode::TooLarge);
  }
  SUBCASE("a max_age past the RFC cap") {
    r.policy.max_age = sts::MaxAgeCap + 1;
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
    PolicyRecord out;
    CHECK_FALSE(decodeRecord(encodeRecord(r), out));
  }
  SUBCASE("an unknown kind") {
    r.kind = static_cast<EntryKind>(0);
    CHECK(checkEncodable(r).error().code == ErrorCode::InvalidInput);
  }
}

TEST_CASE("the fuzz target accepts its seed corpus, every truncation and every byte flip") {
  std::vector<std::string> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(MTASTS_RECORD_CODEC_CORPUS)) {
    inputs.push_back(readFile(entry.path()));
    // Seeds named valid-* must decode: they pin the documented layout from outside the codec.
    if (entry.path().filename().string().rfind("valid-", 0) == 0) {
      CAPTURE(entry.path().string());
      PolicyRecord out;
      auto decoded = decodeRecord(inputs.back(), out);
      CHECK_MESSAGE(decoded, (decoded ? "" : decoded.error().detail));
    }
  }
  REQUIRE(inputs.size() >= 3);
  inputs.push_back(encodeRecord(sampleRecord()));
  // The target aborts on a broken property, which fails this test.
  for (const auto& seed : inputs) {
    for (std::size_t i = 0; i <= seed.size(); ++i) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(seed.data()), i);
    }
    for (std::size_t i = 0; i < seed.size(); ++i) {
      std::string flipped = seed;
      flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(flipped.data()), flipped.size());
    }
  }
}
