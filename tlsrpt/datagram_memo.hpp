// DatagramMemo: the parsed form of recently received datagrams, found by their exact bytes.
// libtlsrpt's datagrams carry no time, session or message id: every session to one domain
// with one outcome sends the same bytes (a success names no MX; a failure repeats its MX,
// addresses, EHLO reply and reason). parseDatagram is a pure function of those bytes, so a
// datagram seen before reuses the earlier result: a hash and a compare instead of the
// parse and its allocations (about 0.85 us of a Postfix datagram, BENCHMARKS.md).
//
// A fixed table, 2-way set associative, the older way replaced: memory is bounded by
// Sets x 2 entries of at most MaxMemoBytes each, and crafted hash collisions can only cost
// a miss (one parse, as without the memo), never a longer search. Rejected datagrams are
// not remembered. Reader thread only: no locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/datagram.hpp"
#include "tlsrpt/datagram_sessions.hpp"

namespace mtasts::tlsrpt {

// What the collector keeps of a datagram it accepted.
struct ParsedDatagram {
  DatagramSessions sessions;
  DatagramWarnings warnings;
};

class DatagramMemo {
 public:
  static constexpr std::size_t Sets = 512;           // 1,024 datagrams remembered at most
  static constexpr std::size_t MaxMemoBytes = 2048;  // larger datagrams are parsed each time

  DatagramMemo();

  // The remembered parse of exactly these bytes, or nullptr. Valid until the next
  // remember(). `hash` is hashBytes(bytes).
  const ParsedDatagram* find(std::uint64_t hash, std::string_view bytes) noexcept;
  // Keeps `parsed` as the parse of `bytes`, replacing the least recently used way of its set.
  // Datagrams longer than MaxMemoBytes are not kept.
  void remember(std::uint64_t hash, std::string_view bytes, ParsedDatagram parsed);

  // A fast non-cryptographic hash of the bytes. Not collision resistant, and need not be:
  // a collision is caught by the byte compare and costs one parse.
  static std::uint64_t hashBytes(std::string_view bytes) noexcept;

  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::string bytes;
    ParsedDatagram parsed;
  };
  struct Set {
    std::unique_ptr<Entry> way[2];
    std::uint8_t recent = 0;  // the way used last: the other one is replaced
  };
  Set& setOf(std::uint64_t hash) noexcept { return sets_[hash % Sets]; }

  std::vector<Set> sets_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace mtasts::tlsrpt
