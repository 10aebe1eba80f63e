// The TLS-RPT day store's records: keys (UTC day, report domain, entry digest) and values (a
// DayEntry without its day and domain, which the key holds), versioned and canonical like
// cache/record_codec. Pure functions, no I/O; stored bytes are untrusted (another version, a
// torn disk, a fuzzer), so every length is bounded and every read checked. Errors:
// InvalidInput with the field and the reason (decode), TooLarge / InvalidInput (encodable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/day_entry.hpp"

namespace mtasts::tlsrpt {

// Key: "YYYY-MM-DD <domain> <32 hex digits>" and, for the rare second entry whose digest is
// taken by another descriptor (a collision), "~1" to "~3" appended. Keys sort by day, then
// domain: a day's entries, and a domain's entries within a day, are one prefix scan. At most
// 10 + 1 + 253 + 1 + 32 + 2 = 299 bytes (LMDB's limit is 511).
inline constexpr int MaxKeyProbe = 3;
std::string dayKeyPrefix(UtcDay day);                             // "YYYY-MM-DD "
std::string dayDomainKeyPrefix(UtcDay day, std::string_view domain);  // "YYYY-MM-DD <domain> "
std::string dayEntryKey(UtcDay day, std::string_view domain, const EntryDigest& digest, int probe);

struct DayKey {
  UtcDay day;
  std::string domain;
  EntryDigest digest{};
  int probe = 0;
};
// InvalidInput unless `key` is exactly what dayEntryKey writes (a valid date 1970-9999, a
// lower-case hostname, 32 lower-case hex digits, an optional "~1".."~3").
Result<DayKey> parseDayEntryKey(std::string_view key);

// Value layout, version 1 (uv = unsigned LEB128 varint, canonical: shortest form, at most 64
// bits; str = uv length + bytes):
//   u8 version=1, u8 policy type (1 tlsa, 2 sts, 9 no-policy-found), str policy-domain,
//   uv n, str policy-string x n, uv n, str mx-host x n, str tlsrpt record,
//   uv successful, uv failed, uv sessions from datagram, own-failure, maillog,
//   uv n rows, per row: uv result code (201-205, 301-306), str sending-mta-ip,
//   str receiving-mx-hostname, str receiving-mx-helo, str receiving-ip,
//   str additional-information, str failure-reason-code, uv failed-session-count >= 1.
// Rows are strictly ascending by FailureDetail (no duplicates). Canonical: a successful
// decodeDayRecord(b) implies encodeDayRecord(result) == b.
inline constexpr std::uint8_t DayRecordVersion = 1;
inline constexpr std::size_t MaxDayRecordStringBytes = 64 * 1024 + 1024;
inline constexpr std::size_t MaxDayRecordPolicyStrings = 40'000;  // cache: policy lines
inline constexpr std::size_t MaxDayRecordMxHosts = 16'384;        // cache: mx patterns
inline constexpr std::size_t MaxDayRecordRows = 1'000 + 11;       // max_detail_rows + overflow rows

// Serialises entry.counts, entry.tlsrpt_record and entry.sources (not day and domain).
// Call checkDayRecordEncodable() first for entries built from outside input.
std::string encodeDayRecord(const DayEntry& entry);
// Whether decodeDayRecord(encodeDayRecord(entry)) succeeds: the bounds above, rows sorted,
// distinct and with counts >= 1.
Result<void> checkDayRecordEncodable(const DayEntry& entry);
// Fills out.counts, out.tlsrpt_record and out.sources; leaves out.day and out.domain alone.
Result<void> decodeDayRecord(std::string_view bytes, DayEntry& out);

// The collector counters record (CollectorCounters), version 1: u8 version=1, uv zigzag
// started_at, uv zigzag last_commit, uv n (<= MaxCounterValues), then n x (str name of 1 to
// MaxCounterNameBytes bytes of [a-z0-9-], uv value). Names need not be known: a newer
// daemon's counters are shown by an older CLI as they are. Canonical like the day record.
inline constexpr std::uint8_t CountersRecordVersion = 1;
inline constexpr std::size_t MaxCounterValues = 64;
inline constexpr std::size_t MaxCounterNameBytes = 64;
std::string encodeCounters(const CollectorCounters& counters);  // values past the bounds are left out
Result<void> decodeCounters(std::string_view bytes, CollectorCounters& out);

}  // namespace mtasts::tlsrpt
