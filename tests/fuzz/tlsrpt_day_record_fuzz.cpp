// libFuzzer target for the TLS-RPT day store's records (tlsrpt/day_record_codec.hpp).
// The whole input is one stored value; it is also tried as a store key. Invariants: a value
// that decodes is encodable and re-encodes to exactly the input (canonical), and decodes
// again to the same entry; merging it into itself keeps the rows sorted and distinct and
// doubles every count (bound permitting); a key that parses is written back byte for byte;
// a collector counters record that decodes re-encodes to exactly the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlsrpt/day_record_codec.hpp"

namespace {

using namespace mtasts::tlsrpt;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto key = parseDayEntryKey(bytes)) {
    check(dayEntryKey(key->day, key->domain, key->digest, key->probe) == bytes);
  } else {
    check(!key.error().detail.empty());
  }

  CollectorCounters counters;
  if (auto c = decodeCounters(bytes, counters)) {
    check(encodeCounters(counters) == bytes);
  } else {
    check(!c.error().detail.empty());
  }

  DayEntry first;
  auto decoded = decodeDayRecord(bytes, first);
  if (!decoded) {
    check(!decoded.error().detail.empty());
    return 0;
  }
  check(static_cast<bool>(checkDayRecordEncodable(first)));
  const std::string encoded = encodeDayRecord(first);
  check(encoded == bytes);
  DayEntry second;
  check(static_cast<bool>(decodeDayRecord(encoded, second)));
  check(second == first);

  // Merging an entry into a copy of itself: same rows, every count doubled (saturating).
  DayEntry merged = first;
  const std::uint64_t overflowed = mergeDayEntry(merged, first, MaxDayRecordRows);
  check(overflowed == 0);
  check(merged.counts.failures.size() == first.counts.failures.size());
  for (std::size_t i = 0; i < merged.counts.failures.size(); ++i) {
    check(merged.counts.failures[i].detail == first.counts.failures[i].detail);
    check(merged.counts.failures[i].sessions == saturatingAdd(first.counts.failures[i].sessions,
                                                              first.counts.failures[i].sessions));
  }
  check(static_cast<bool>(checkDayRecordEncodable(merged)));
  return 0;
}
