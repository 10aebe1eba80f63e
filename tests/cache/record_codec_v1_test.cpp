// Record encoding version 1 (stores of earlier releases): still decoded, its policy_text
// dropped, re-encoded as version 2 without loss; malformed v1 refused with a reason. Also
// the record codec fuzz target replayed over its seed corpus (v1 and v2 seeds).
#include "cache/record_codec.hpp"
#include "tests/cache/decode_checks.hpp"
#include "tests/cache/record_v1_writer.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::checkDecodeRefused;
using mtasts::cache::test::checkEveryTruncationRefused;
using mtasts::cache::test::negativeRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::RecordV1Writer;
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

std::string v1Of(const PolicyRecord& r) { return RecordV1Writer::encode(r, RecordV1Writer::bodyOf(r)); }

// Reads a whole (small) seed file; istreambuf_iterator trips g++ 12's -Wnull-dereference.
std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

struct Seed {
  std::string name;
  std::string bytes;
};

std::vector<Seed> corpus() {
  std::vector<Seed> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(MTASTS_RECORD_CODEC_CORPUS)) {
    seeds.push_back({entry.path().filename().string(), readFile(entry.path())});
  }
  return seeds;
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

TEST_CASE("version 1 records of earlier releases decode, and re-encode as version 3 unchanged") {
  PolicyRecord extremes = sampleRecord("x1");
  extremes.policy.mode = sts::Mode::Testing;
  extremes.fetched_at = std::numeric_limits<std::int64_t>::min();
  extremes.last_used = std::numeric_limits<std::int64_t>::max();
  extremes.last_failure->at = -1;
  PolicyRecord failed = negativeRecord();
  failed.kind = EntryKind::LookupFailed;
  failed.last_failure = FailureInfo{42, TlsRptResultType::StsPolicyFetchError, "timeout", "id9"};
  PolicyRecord many = sampleRecord("many");
  many.last_failure.reset();
  for (int i = 0; i < 50; ++i) {
    many.policy.mx.push_back("mx" + std::to_string(i) + ".example.org");
    many.policy.lines.emplace_back("mx", many.policy.mx.back());
  }
  struct Case {
    std::string name;
    PolicyRecord record;
    std::string bytes;
  };
  const std::vector<Case> cases{
      {"policy with a failure", sampleRecord(), v1Of(sampleRecord())},
      {"policy with a CRLF body", sampleRecord(),
       RecordV1Writer::encode(sampleRecord(), "version: STSv1\r\nmode: enforce\r\n"
                                              "mx: mail.example.com\r\nmx: *.example.net\r\n"
                                              "max_age: 604800\r\n")},
      {"negative entry", negativeRecord(), v1Of(negativeRecord())},
      {"testing mode, extreme times", extremes, v1Of(extremes)},
      {"lookup failed", failed, v1Of(failed)},
      {"policy with 52 mx", many, v1Of(many)},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    REQUIRE(static_cast<std::uint8_t>(c.bytes[0]) == 1);
    PolicyRecord got;
    auto decoded = decodeRecord(c.bytes, got);
    REQUIRE_MESSAGE(decoded, decoded.error().detail);
    CHECK(recordDiff(got, c.record) == "");
    const std::string v3 = encodeRecord(got);
    CHECK(static_cast<std::uint8_t>(v3[0]) == 3);
    PolicyRecord again;
    REQUIRE(decodeRecord(v3, again));
    CHECK(recordDiff(again, c.record) == "");
  }
}

TEST_CASE("the test's version 1 writer spells the previous release's seed records byte for byte") {
  // The valid-* seeds without "v2" were written by the version 1 codec itself.
  int checked = 0;
  for (const auto& seed : corpus()) {
    if (!startsWith(seed.name, "valid-") || startsWith(seed.name, "valid-v2-") || startsWith(seed.name, "valid-v3-")) {
      continue;
    }
    CAPTURE(seed.name);
    PolicyRecord got;
    auto decoded = decodeRecord(seed.bytes, got);
    REQUIRE_MESSAGE(decoded, decoded.error().detail);
    CHECK(v1Of(got) == seed.bytes);
    ++checked;
  }
  CHECK(checked >= 3);
}

TEST_CASE("every truncation of a version 1 record fails cleanly with a reason") {
  checkEveryTruncationRefused(v1Of(sampleRecord()));
}

TEST_CASE("decode refuses malformed version 1 records and says why") {
  const std::string valid = v1Of(sampleRecord());
  auto withTxtIdLength = [&](std::uint32_t len) {
    std::string bytes = valid;
    return bytes.replace(TxtIdLengthOffset, 4, u32le(len));
  };
  std::string bad_kind = valid;
  bad_kind[1] = 9;
  PolicyRecord no_failure = sampleRecord();
  no_failure.last_failure.reset();
  std::string flag_bytes = v1Of(no_failure);
  flag_bytes.back() = 7;  // the has_failure flag is the last byte without a failure
  PolicyRecord negative_age = sampleRecord();
  negative_age.policy.max_age = -1;
  PolicyRecord unknown_type = negativeRecord();
  unknown_type.last_failure = FailureInfo{1, TlsRptResultType::DaneRequired, "", ""};
  std::string type_bytes = v1Of(unknown_type);
  type_bytes.replace(type_bytes.size() - 10, 2, std::string("\xc8\x00", 2));  // u16 200 before two empty strs
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"unknown kind", bad_kind, "unknown kind 9"},
      {"string over the bound", withTxtIdLength(MaxRecordStringBytes + 1), "exceeds"},
      {"length past the end", withTxtIdLength(static_cast<std::uint32_t>(valid.size())),
       "runs past the end"},
      {"length 0xffffffff", withTxtIdLength(0xffffffffU), "exceeds"},
      {"policy_text over the bound",
       RecordV1Writer::encode(sampleRecord(), std::string(MaxRecordStringBytes + 1, 't')),
       "field policy_text length 66561 exceeds"},
      {"negative max_age", v1Of(negative_age), "max_age -1 out of range"},
      {"unknown failure type", type_bytes, "unknown failure type 200"},
      {"has_failure not a bool", flag_bytes, "has_failure flag is 7"},
      {"trailing garbage", valid + "x", "1 bytes of trailing garbage"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    checkDecodeRefused(c.bytes, c.reason);
  }
}

TEST_CASE("the fuzz target accepts its seed corpus, every truncation and every byte flip") {
  std::vector<std::string> inputs;
  int v1 = 0;
  int v2 = 0;
  int v3 = 0;
  for (auto& seed : corpus()) {
    // Seeds named valid-* must decode: they pin the documented layouts from outside the codec.
    if (startsWith(seed.name, "valid-")) {
      CAPTURE(seed.name);
      PolicyRecord out;
      auto decoded = decodeRecord(seed.bytes, out);
      CHECK_MESSAGE(decoded, (decoded ? "" : decoded.error().detail));
      const int version = startsWith(seed.name, "valid-v3-") ? 3 : startsWith(seed.name, "valid-v2-") ? 2 : 1;
      (version == 3 ? v3 : version == 2 ? v2 : v1) += 1;
      CHECK(static_cast<std::uint8_t>(seed.bytes[0]) == version);
    }
    // Seeds named invalid-* pin a refusal: each must stay refused.
    if (startsWith(seed.name, "invalid-")) {
      CAPTURE(seed.name);
      PolicyRecord out;
      CHECK_FALSE(decodeRecord(seed.bytes, out));
    }
    inputs.push_back(std::move(seed.bytes));
  }
  CHECK(v1 >= 3);
  CHECK(v2 >= 3);
  CHECK(v3 >= 2);
  inputs.push_back(encodeRecord(sampleRecord()));
  inputs.push_back(v1Of(sampleRecord()));
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
