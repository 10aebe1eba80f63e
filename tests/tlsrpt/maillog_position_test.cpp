// The stored mail-log position: record layout written out by hand, round trips, and every
// way a damaged or foreign record is refused (it comes back from disk).
#include "tests/cache/test_support.hpp"
#include "tlsrpt/maillog_position.hpp"

#include <doctest/doctest.h>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::cache::test::hex;
using mtasts::cache::test::uv;

namespace {

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

}  // namespace

TEST_CASE("a file position is version, kind, three varints and two little-endian hashes") {
  const FilePosition p{2049, 1311768467294899695ull, 300, 0x0102030405060708ull, 0xa1a2a3a4a5a6a7a8ull};
  const std::string want = std::string("\x01\x01", 2) + uv(2049) + uv(1311768467294899695ull) + uv(300) +
                           le64(0x0102030405060708ull) + le64(0xa1a2a3a4a5a6a7a8ull);
  CHECK(hex(encodeMaillogPosition(p)) == hex(want));
  const auto back = decodeMaillogPosition(want);
  REQUIRE(back);
  CHECK(std::get<FilePosition>(*back) == p);
}

TEST_CASE("journal and empty positions round trip") {
  const JournalPosition j{"s=0123456789abcdef0123456789abcdef;i=2a;b=fedcba9876543210fedcba9876543210;m=1a2b;t=5f;x=99"};
  for (const MaillogPosition& p : {MaillogPosition(j), MaillogPosition(std::monostate{}),
                                   MaillogPosition(FilePosition{}), MaillogPosition(FilePosition{~0ull, ~0ull, ~0ull, ~0ull, 0})}) {
    const std::string bytes = encodeMaillogPosition(p);
    CAPTURE(hex(bytes));
    const auto back = decodeMaillogPosition(bytes);
    REQUIRE(back);
    CHECK(*back == p);
    CHECK(encodeMaillogPosition(*back) == bytes);
  }
  CHECK(hex(encodeMaillogPosition(j)).substr(0, 6) == "01025b");  // version, kind, length 91
}

TEST_CASE("damaged or foreign position records are refused with a reason") {
  const std::string file = encodeMaillogPosition(FilePosition{1, 2, 3, 4, 5});
  struct Row {
    const char* name;
    std::string bytes;
    const char* reason;
  };
  const Row rows[] = {
      {"empty", "", "truncated header"},
      {"version only", "\x01", "truncated header"},
      {"version 0", std::string("\x00\x01", 2), "version 0"},
      {"newer version", "\x02\x01", "newer"},
      {"unknown kind", "\x01\x07", "unknown kind"},
      {"file cut in a hash", file.substr(0, file.size() - 1), "truncated"},
      {"file cut in a varint", std::string("\x01\x01\x80", 3), "truncated"},
      {"trailing byte", file + "x", "trailing"},
      {"overlong varint", std::string("\x01\x01\x81\x00", 4) + std::string(18, '\0'), "truncated"},
      {"varint beyond 64 bits", std::string("\x01\x01") + std::string(9, '\xff') + "\x02" + std::string(18, '\0'),
       "truncated"},
      {"empty cursor", std::string("\x01\x02\x00", 3), "bad cursor length"},
      {"cursor longer than its record", "\x01\x02\x05" "abc", "bad cursor length"},
      {"cursor over the bound", std::string("\x01\x02\x81\x08", 4) + std::string(1025, 'a'), "bad cursor length"},
      {"cursor with a space", "\x01\x02\x03" "a b", "not printable"},
      {"none with trailing bytes", std::string("\x01\x00\x00", 3), "trailing"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const auto got = decodeMaillogPosition(row.bytes);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(row.reason) != std::string::npos);
  }
}

TEST_CASE("filePositionAt hashes the first and the last min(offset, TailBytes) bytes") {
  const std::string text(1000, 'a');
  std::string varied = text;
  for (std::size_t i = 0; i < varied.size(); ++i) varied[i] = static_cast<char>('a' + i % 26);
  const FilePosition p = filePositionAt(1, 2, 1000, varied, varied);
  CHECK(p.head_hash == tailHash(std::string_view(varied).substr(0, 256)));
  CHECK(p.tail_hash == tailHash(std::string_view(varied).substr(744)));
  const FilePosition q = filePositionAt(1, 2, 10, varied.substr(0, 10), varied.substr(0, 10));
  CHECK(q.head_hash == q.tail_hash);
  CHECK(q.hashLength() == 10);
  CHECK(filePositionAt(1, 2, 0, "", "").tail_hash == tailHash(""));
}
