#include "common/varint.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace mtasts;

namespace {

std::string bytes(std::initializer_list<unsigned> list) {
  std::string out;
  for (unsigned b : list) out.push_back(static_cast<char>(b));
  return out;
}

std::string hex(std::string_view s) {
  static constexpr char Digits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (!out.empty()) out += ' ';
    out += Digits[b >> 4];
    out += Digits[b & 0xf];
  }
  return out;
}

const char* statusName(VarintStatus s) {
  switch (s) {
    case VarintStatus::Ok: return "ok";
    case VarintStatus::Truncated: return "truncated";
    case VarintStatus::Overflow: return "overflow";
    case VarintStatus::Overlong: return "overlong";
  }
  return "?";
}

struct Spelling {
  std::uint64_t value;
  std::string wire;
};

const std::vector<Spelling>& spellings() {
  static const std::vector<Spelling> table{
      {0, bytes({0x00})},
      {1, bytes({0x01})},
      {127, bytes({0x7f})},
      {128, bytes({0x80, 0x01})},
      {300, bytes({0xac, 0x02})},
      {16383, bytes({0xff, 0x7f})},
      {16384, bytes({0x80, 0x80, 0x01})},
      {std::uint64_t{1} << 63, bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
      {std::numeric_limits<std::uint64_t>::max(),
       bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  return table;
}

}  // namespace

TEST_CASE("appendVarint writes the canonical LEB128 spelling of each value") {
  for (const auto& c : spellings()) {
    const std::uint64_t value = c.value;
    const std::string& wire = c.wire;
    CAPTURE(value);
    std::string got = "prefix";
    appendVarint(got, value);
    CHECK_MESSAGE(got == "prefix" + wire, "got ", hex(got), " want ", hex("prefix" + wire));
  }
}

TEST_CASE("readVarint reads each canonical spelling and stops right after it") {
  for (const auto& c : spellings()) {
    const std::uint64_t value = c.value;
    const std::string& wire = c.wire;
    CAPTURE(value);
    SUBCASE("alone") {
      const VarintRead r = readVarint(wire, 0);
      CHECK(statusName(r.status) == std::string("ok"));
      CHECK(r.value == value);
      CHECK(r.next == wire.size());
    }
    SUBCASE("between other bytes, at an offset") {
      const std::string in = "ab" + wire + "\x05";
      const VarintRead r = readVarint(in, 2);
      CHECK(statusName(r.status) == std::string("ok"));
      CHECK(r.value == value);
      CHECK(r.next == 2 + wire.size());
    }
  }
}

TEST_CASE("readVarint reports every truncation of every spelling as truncated") {
  for (const auto& c : spellings()) {
    const std::uint64_t value = c.value;
    const std::string& wire = c.wire;
    for (std::size_t n = 0; n < wire.size(); ++n) {
      CAPTURE(value);
      CAPTURE(n);
      const VarintRead r = readVarint(std::string_view(wire).substr(0, n), 0);
      CHECK(statusName(r.status) == std::string("truncated"));
      CHECK(r.next == n);  // callers name the offset where the bytes ran out
    }
  }
  CHECK(readVarint("\x01", 1).status == VarintStatus::Truncated);
  CHECK(readVarint("\x01", 7).status == VarintStatus::Truncated);
}

TEST_CASE("readVarint refuses a trailing zero group as overlong") {
  const std::vector<std::string> cases{
      bytes({0x80, 0x00}),
      bytes({0xff, 0x00}),
      bytes({0x81, 0x80, 0x00}),
      bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
  };
  for (const auto& in : cases) {
    CAPTURE(hex(in));
    const VarintRead r = readVarint(in, 0);
    CHECK(statusName(r.status) == std::string("overlong"));
    CHECK(r.next == in.size());
  }
}

TEST_CASE("readVarint refuses bits beyond 63 and an eleventh byte as overflow") {
  const std::string nine_more(9, '\x80');
  struct Case {
    std::string in;
    std::size_t next;
  };
  const std::vector<Case> cases{
      {nine_more + bytes({0x02}), 10},                         // bit 64 set
      {nine_more + bytes({0x7f}), 10},                         // bits 64..69 set
      {std::string(9, '\xff') + bytes({0x81, 0x01}), 10},       // eleven bytes, UINT64_MAX + more
      {nine_more + bytes({0x80, 0x00}), 10},                   // eleven bytes, value 0
      {nine_more + bytes({0x80}), 10},                         // continues past the tenth byte
      {std::string(10, '\xff') + bytes({0x01}), 10},
  };
  for (const auto& c : cases) {
    const std::string& in = c.in;
    const std::size_t next = c.next;
    CAPTURE(hex(in));
    const VarintRead r = readVarint(in, 0);
    CHECK(statusName(r.status) == std::string("overflow"));
    CHECK(r.next == next);
  }
}

TEST_CASE("zigzag maps small signed values to small unsigned ones and round-trips the extremes") {
  constexpr std::int64_t Min = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t Max = std::numeric_limits<std::int64_t>::max();
  constexpr std::uint64_t UMax = std::numeric_limits<std::uint64_t>::max();
  struct Case {
    std::int64_t v;
    std::uint64_t zz;
  };
  const Case cases[] = {{0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {2, 4}, {Max, UMax - 1}, {Min, UMax}};
  for (const auto& c : cases) {
    const std::int64_t v = c.v;
    const std::uint64_t zz = c.zz;
    CAPTURE(v);
    CHECK(zigzagEncode(v) == zz);
    CHECK(zigzagDecode(zz) == v);
    std::string wire;
    appendVarint(wire, zigzagEncode(v));
    const VarintRead r = readVarint(wire, 0);
    REQUIRE(r.status == VarintStatus::Ok);
    CHECK(zigzagDecode(r.value) == v);
  }
  static_assert(zigzagDecode(zigzagEncode(Min)) == Min);
  static_assert(readVarint("\xac\x02", 0).value == 300);
}
