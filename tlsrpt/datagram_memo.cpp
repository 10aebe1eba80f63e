#include "tlsrpt/datagram_memo.hpp"

#include <cstring>
#include <utility>

namespace mtasts::tlsrpt {
namespace {

constexpr std::uint64_t Multiplier = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio

std::uint64_t mix(std::uint64_t h, std::uint64_t word) noexcept {
  h = (h ^ word) * Multiplier;
  return h ^ (h >> 29);
}

}  // namespace

DatagramMemo::DatagramMemo() : sets_(Sets) {}

std::uint64_t DatagramMemo::hashBytes(std::string_view bytes) noexcept {
  std::uint64_t h = bytes.size() * Multiplier;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, 8);  // compiles to one load
    h = mix(h, word);
  }
  if (i < bytes.size()) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i);
    h = mix(h, word);
  }
  return mix(h, h >> 32);
}

const ParsedDatagram* DatagramMemo::find(std::uint64_t hash, std::string_view bytes) noexcept {
  Set& set = setOf(hash);
  for (std::uint8_t w = 0; w < 2; ++w) {
    const Entry* e = set.way[w].get();
    if (e != nullptr && e->hash == hash && e->bytes == bytes) {
      set.recent = w;
      ++hits_;
      return &e->parsed;
    }
  }
  ++misses_;
  return nullptr;
}

void DatagramMemo::remember(std::uint64_t hash, std::string_view bytes, ParsedDatagram parsed) {
  if (bytes.size() > MaxMemoBytes) return;
  Set& set = setOf(hash);
  // An empty way first; else the one not used last.
  std::uint8_t w = set.way[0] == nullptr ? 0 : set.way[1] == nullptr ? 1 : static_cast<std::uint8_t>(1 - set.recent);
  auto& slot = set.way[w];
  if (slot == nullptr) slot = std::make_unique<Entry>();
  slot->hash = hash;
  slot->bytes.assign(bytes);  // reuses the replaced entry's buffer when it is large enough
  slot->parsed = std::move(parsed);
  set.recent = w;
}

}  // namespace mtasts::tlsrpt
