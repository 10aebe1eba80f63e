// record_codec: PolicyRecord <-> the versioned byte string stored in LMDB. Pure functions,
// no I/O; the bytes read back are untrusted (another version, a torn disk, a fuzzer), so
// every length is bounded and every read bounds-checked. Errors: InvalidInput with a reason
// (decode), TooLarge / InvalidInput (checkEncodable). The parsed policy is stored, so the
// lookup hot path never re-parses policy text. Writes version 3; reads versions 1 to 3.
#pragma once

#include "cache/policy_record.hpp"
#include "common/result.hpp"
#include "sts/policy_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts::cache {

// Layout of version 3 (written): version 2's fields, then the DANE state:
//   u8 dane state (0..MaxDaneState), sv dane checked_at, sv dane expires_at
// (version byte 3). Versions 1 and 2 decode with DaneInfo{} (Unchecked: looked up again).
// Layout of version 2 (read only; small because the store's pages are most of the RSS):
//   uv = unsigned LEB128 varint, canonical (shortest form, at most 64 bits, within the
//   field's bound); sv = zigzag-mapped int64 as uv; str = uv length + bytes.
//   u8 version=2, u8 kind (1..3), str txt_id,
//   sv fetched_at, sv expires_at, sv txt_checked_at, sv last_used,
//   u8 mode (1 enforce, 2 testing, 3 none), uv max_age (0..MaxAgeCap),
//   uv mx count, str mx..., uv line count, line...,
//   u8 has_failure (0/1) [sv at, uv type (libtlsrpt code 201..306), str reason, str txt_id]
// A line is a u8 code. 0: a literal, str key + str value follow. 1..4 stand for a line the
// fields before it reproduce byte for byte, nothing follows: 1 "version: STSv1", 2 "mode: "
// + the mode's name, 3 "max_age: " + max_age in decimal (no sign, no leading zero; a value
// published above the cap stays literal), 4 "mx: " + mx[n] for the n-th line keyed "mx",
// literal or coded (the parser appends one mx entry per mx line, so pairing by position
// keeps one literal, e.g. an upper-case name, from shifting the rest). The encoder writes a
// code whenever one applies; decode refuses a literal a code stands for ("non-canonical
// literal line"), an unknown code, and code 4 when there is no mx[n].
// Layout of version 1 (read only; stores of earlier releases): the same fields in the same
// order, integers little-endian fixed width (times and max_age i64, counts u32, failure type
// u16), str = u32 length + bytes, a str policy_text after txt_id that is read and dropped,
// and every line literal: str key, str value, no code byte.
// Version 3 is canonical: decodeRecord(b) succeeding implies encodeRecord(result) == b.
// For version 1 and 2 input, decodeRecord(encodeRecord(result)) gives back an equal record.
inline constexpr std::uint8_t RecordEncodingVersion = 3;
inline constexpr std::uint8_t OldestRecordEncodingVersion = 1;
inline constexpr std::size_t MaxRecordStringBytes = 64 * 1024 + 1024;  // 64 KiB body + slack
inline constexpr std::size_t MaxRecordMxCount = 16'384;
inline constexpr std::size_t MaxRecordLineCount = 40'000;
// Every policy the parser accepts must be storable: a policy the store refuses is applied
// once and then fetched again on every query.
static_assert(MaxRecordMxCount >= sts::MaxPolicyMxLines, "a valid policy's mx lines must fit");
static_assert(MaxRecordLineCount >= sts::MaxPolicyLines, "a valid policy's lines must fit");
static_assert(MaxRecordStringBytes >= sts::MaxPolicyBodyBytes, "a valid policy's value must fit");

// Serialises `record` in version RecordEncodingVersion. Does not check bounds: callers that
// take records from outside call checkEncodable() first (LmdbPolicyStore::put does).
std::string encodeRecord(const PolicyRecord& record);

// Whether `record` fits the bounds above and holds only known enum values, i.e. whether
// decodeRecord(encodeRecord(record)) will succeed.
Result<void> checkEncodable(const PolicyRecord& record);

// Parses `bytes` (version 1, 2 or 3) into `out`, reusing the capacity of its strings and
// vectors. On error `out` holds a partial, unspecified (but valid) value.
Result<void> decodeRecord(std::string_view bytes, PolicyRecord& out);

}  // namespace mtasts::cache
