// The memo of recent datagram parses: found only by the exact bytes, bounded per set with
// the least recently used way replaced, large datagrams never kept, and a hash that tells
// apart what differs anywhere, including the tail past the last 8-byte word.
#include <doctest/doctest.h>

#include <string>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/datagram_memo.hpp"

using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

ParsedDatagram parsedOf(const std::string& fixture) {
  auto datagram = parseDatagram(fixtureBytes(fixture));
  REQUIRE(datagram);
  const DatagramWarnings warnings = datagram->warnings;
  return ParsedDatagram{sessionsOf(std::move(*datagram)), warnings};
}

}  // namespace

TEST_CASE("a remembered parse is found by the same bytes only") {
  DatagramMemo memo;
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  const std::uint64_t hash = DatagramMemo::hashBytes(good);
  CHECK(memo.find(hash, good) == nullptr);
  memo.remember(hash, good, parsedOf("pf311-good-success.dgram"));
  const ParsedDatagram* found = memo.find(hash, good);
  REQUIRE(found != nullptr);
  CHECK(found->sessions == fixtureSessions("pf311-good-success.dgram"));
  // The same hash with other bytes (a collision) is a miss, not a wrong answer.
  std::string other = good;
  other[other.size() - 3] = '1';
  CHECK(memo.find(hash, other) == nullptr);
  CHECK(memo.find(hash, good.substr(0, good.size() - 1)) == nullptr);
  CHECK(memo.hits() == 1);
  CHECK(memo.misses() == 3);
}

TEST_CASE("a full set replaces the way not used last") {
  DatagramMemo memo;
  const std::string a = "datagram a", b = "datagram b", c = "datagram c";
  // Three hashes of one set.
  const std::uint64_t ha = 7, hb = 7 + DatagramMemo::Sets, hc = 7 + 2 * DatagramMemo::Sets;
  memo.remember(ha, a, parsedOf("pf311-good-success.dgram"));
  memo.remember(hb, b, parsedOf("pf311-bad-202-certificate-host-mismatch.dgram"));
  REQUIRE(memo.find(ha, a) != nullptr);  // a is now the way used last
  memo.remember(hc, c, parsedOf("pf311-twomx-success.dgram"));
  CHECK(memo.find(hb, b) == nullptr);
  REQUIRE(memo.find(ha, a) != nullptr);
  REQUIRE(memo.find(hc, c) != nullptr);
  CHECK(memo.find(hc, c)->sessions == fixtureSessions("pf311-twomx-success.dgram"));
  CHECK(memo.find(ha, a)->sessions == fixtureSessions("pf311-good-success.dgram"));
}

TEST_CASE("datagrams longer than MaxMemoBytes are not remembered") {
  DatagramMemo memo;
  const std::string big(DatagramMemo::MaxMemoBytes + 1, 'x');
  const std::string fits(DatagramMemo::MaxMemoBytes, 'x');
  memo.remember(DatagramMemo::hashBytes(big), big, parsedOf("pf311-good-success.dgram"));
  CHECK(memo.find(DatagramMemo::hashBytes(big), big) == nullptr);
  memo.remember(DatagramMemo::hashBytes(fits), fits, parsedOf("pf311-good-success.dgram"));
  CHECK(memo.find(DatagramMemo::hashBytes(fits), fits) != nullptr);
}

TEST_CASE("hashBytes differs where the bytes differ, the tail and the length included") {
  const std::string base = "{\"dpv\": \"1\",\"d\": \"good.test\"}";  // 30 bytes: a 6-byte tail
  CHECK(DatagramMemo::hashBytes(base) == DatagramMemo::hashBytes(std::string(base)));
  for (std::size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    CAPTURE(i);
    CHECK(DatagramMemo::hashBytes(changed) != DatagramMemo::hashBytes(base));
  }
  // A trailing NUL is part of the bytes, not padding.
  CHECK(DatagramMemo::hashBytes(base + std::string(1, '\0')) != DatagramMemo::hashBytes(base));
  CHECK(DatagramMemo::hashBytes("") != DatagramMemo::hashBytes(std::string(1, '\0')));
}
