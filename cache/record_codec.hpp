// record_codec: PolicyRecord <-> the versioned byte string stored in LMDB. Pure functions,
// no I/O; the bytes read back are untrusted (another version, a torn disk, a fuzzer), so
// every length is bounded and every read bounds-checked. Errors: InvalidInput with a reason
// (decode), TooLarge / InvalidInput (checkEncodable). The parsed policy is stored too, so
// the lookup hot path never re-parses policy text.
#pragma once

#include "cache/policy_record.hpp"
#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts::cache {

// Layout of version 1 (all integers little-endian, str = u32 length + bytes):
//   u8 version=1, u8 kind (1..3), str txt_id, str policy_text,
//   i64 fetched_at, i64 expires_at, i64 txt_checked_at, i64 last_used,
//   u8 mode (1 enforce, 2 testing, 3 none), i64 max_age (0..MaxAgeCap),
//   u32 mx count, str mx..., u32 line count, (str key, str value)...,
//   u8 has_failure (0/1) [i64 at, u16 type (libtlsrpt code 201..306), str reason, str txt_id]
// The encoding is canonical: decode(b) succeeding implies encodeRecord(result) == b.
inline constexpr std::uint8_t RecordEncodingVersion = 1;
inline constexpr std::size_t MaxRecordStringBytes = 64 * 1024 + 1024;  // 64 KiB body + slack
inline constexpr std::size_t MaxRecordMxCount = 10'000;
inline constexpr std::size_t MaxRecordLineCount = 40'000;  // a 64 KiB body has < 32768 lines

// Serialises `record`. Does not check bounds: callers that take records from outside
// call checkEncodable() first (LmdbPolicyStore::put does).
std::string encodeRecord(const PolicyRecord& record);

// Whether `record` fits the bounds above and holds only known enum values, i.e. whether
// decodeRecord(encodeRecord(record)) will succeed.
Result<void> checkEncodable(const PolicyRecord& record);

// Parses `bytes` into `out`, reusing the capacity of its strings and vectors. On error `out`
// holds a partial, unspecified (but valid) value.
Result<void> decodeRecord(std::string_view bytes, PolicyRecord& out);

}  // namespace mtasts::cache
