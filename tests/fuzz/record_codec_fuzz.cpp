// libFuzzer target for cache/record_codec: decode arbitrary bytes; whatever decodes must be
// encodable, and must come back equal from decode(encode()). Version 3 input is canonical:
// it re-encodes to exactly the same bytes. Version 1 and 2 input (read-only; version 1's
// policy_text dropped, DANE unchecked) re-encodes as version 3. Also linked into the cache unit tests, which replay the
// seed corpus.
#include "cache/record_codec.hpp"
#include "tests/cache/test_support.hpp"

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
  if (static_cast<std::uint8_t>(encoded[0]) != RecordEncodingVersion) std::abort();
  // Only the current version is canonical; an older one must differ in its version byte.
  const bool current = static_cast<std::uint8_t>(bytes[0]) == RecordEncodingVersion;
  if (current != (encoded == bytes)) std::abort();
  PolicyRecord second;
  if (!decodeRecord(encoded, second)) std::abort();
  if (!test::recordDiff(second, first).empty()) std::abort();
  if (encodeRecord(second) != encoded) std::abort();
  return 0;
}
