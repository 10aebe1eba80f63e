// libFuzzer target for cache/record_codec: decode arbitrary bytes; whatever decodes must
// re-encode to exactly the same bytes (the encoding is canonical) and decode again to the
// same record. Also linked into the cache unit tests, which replay the seed corpus.
#include "cache/record_codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mtasts::cache;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  PolicyRecord first;
  if (!decodeRecord(bytes, first)) return 0;
  if (!checkEncodable(first)) std::abort();  // decode accepted what encode would refuse
  std::string encoded = encodeRecord(first);
  if (encoded != bytes) std::abort();
  PolicyRecord second;
  if (!decodeRecord(encoded, second)) std::abort();
  if (encodeRecord(second) != encoded) std::abort();
  return 0;
}
