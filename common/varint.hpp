// Canonical unsigned LEB128 varints and zigzag, the one spelling every on-disk record uses
// (cache records, TLSRPT day records and report state, the mail-log position).
// Pure functions over bytes, no allocation beyond appending to the caller's string, any thread.
// readVarint reports what went wrong as a VarintStatus only: each caller keeps its own error
// texts, error codes and bounds (a count's maximum, a port's 65535) exactly as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts {

// 64 bits in 7-bit groups: the tenth byte carries bit 63 only.
inline constexpr std::size_t MaxVarintBytes = 10;

enum class VarintStatus : std::uint8_t {
  Ok,
  Truncated,  // the input ended inside the varint (or before it)
  Overflow,   // bits beyond 63, or a continuation bit on the tenth byte
  Overlong,   // a final 0x00 group after another group: a second spelling of a value
};

struct VarintRead {
  std::uint64_t value = 0;  // meaningful only when status is Ok
  std::size_t next = 0;     // offset just past the last byte looked at (in.size() on Truncated)
  VarintStatus status = VarintStatus::Ok;
};

// Low group first, continuation bit 0x80 on every byte but the last.
inline void appendVarint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  out.push_back(static_cast<char>(v));
}

// Zigzag maps small negative and positive values alike to small unsigned ones
// (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...), so a time near the epoch stays short.
constexpr std::uint64_t zigzagEncode(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

constexpr std::int64_t zigzagDecode(std::uint64_t u) noexcept {
  return static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
}

// Reads one varint starting at `offset`. Only canonical spellings are accepted, so every
// accepted record re-encodes to the same bytes.
constexpr VarintRead readVarint(std::string_view in, std::size_t offset) noexcept {
  VarintRead r{0, offset, VarintStatus::Ok};
  for (unsigned shift = 0;; shift += 7) {
    if (r.next >= in.size()) {
      r.status = VarintStatus::Truncated;
      return r;
    }
    const auto byte = static_cast<std::uint8_t>(in[r.next++]);
    // At bit 63 only 0x00 and 0x01 are possible: anything else has more bits or continues.
    if (shift == 63 && byte > 1) {
      r.status = VarintStatus::Overflow;
      return r;
    }
    r.value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80u) != 0) continue;
    if (byte == 0 && shift != 0) r.status = VarintStatus::Overlong;
    return r;
  }
}

}  // namespace mtasts
