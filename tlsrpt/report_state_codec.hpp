// The records of the report-state store (report_state_store.hpp): per UTC day its build plan,
// per (day, policy domain) the report made ONCE (report-id, file name, gzip bytes), and per
// (day, policy domain, rua) the delivery state (a claim while a process sends it, attempts,
// next attempt, outcome). Keys and values are versioned and canonical like
// day_record_codec.hpp. Pure functions, no I/O; stored bytes are untrusted (another version,
// a torn disk, a fuzzer): every length is bounded and every read checked. Errors:
// InvalidInput with the field and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/tlsrpt_record.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

// "day YYYY-MM-DD": how far the daemon got in building a day's reports.
struct DayPlan {
  UnixSeconds due_at = 0;  // building starts then: 00:00 UTC of the next day + a random delay
  bool built = false;      // every domain of the day was handled
  std::string cursor;      // the last domain handled, in key order ("" = none yet)
  std::uint64_t reports = 0;  // reports stored by the daemon's pass
  std::uint64_t skipped = 0;  // domains without a usable TLSRPT record (or report)

  bool operator==(const DayPlan&) const = default;
};

// "rep YYYY-MM-DD <domain>": the report as it is sent, made once and reused by every
// destination and retry (RFC 8460 5.3: the same report-id on every retry).
struct StoredReport {
  std::string report_id;
  std::string file_name;
  std::string submitter;
  UnixSeconds created_at = 0;
  std::string gzip;  // application/tlsrpt+gzip

  bool operator==(const StoredReport&) const = default;
};

// What a delivery record stands for: the _smtp._tls lookup still to make (index 0; its
// failures are retried like a delivery's), or one rua destination (index 1..MaxReportUris).
enum class DeliveryKind : std::uint8_t { Lookup = 0, Mailto = 1, Https = 2 };
enum class DeliveryState : std::uint8_t {
  Pending = 0,    // due at next_attempt
  Claimed = 1,    // a process is sending it (claim_owner / claim_pid / claimed_at)
  Done = 2,       // delivered (a lookup: resolved into destinations)
  GivenUp = 3,    // failed for the whole retry window, or no TLSRPT record after all
};
std::string_view deliveryKindName(DeliveryKind kind) noexcept;    // "lookup", "mailto", "https"
std::string_view deliveryStateName(DeliveryState state) noexcept; // "pending", "claimed", ...

// "dst YYYY-MM-DD <domain> NN".
struct Delivery {
  DeliveryKind kind = DeliveryKind::Lookup;
  ReportUri rua;  // kind Mailto / Https; empty for a lookup
  DeliveryState state = DeliveryState::Pending;
  UnixSeconds first_attempt = 0;  // 0 = never tried; the retry window starts here
  UnixSeconds last_attempt = 0;
  UnixSeconds next_attempt = 0;
  std::uint32_t attempts = 0;
  std::uint64_t claim_owner = 0;  // random token of the claiming process run
  std::int64_t claim_pid = 0;
  UnixSeconds claimed_at = 0;
  std::string last_error;  // at most MaxDeliveryErrorBytes

  bool operator==(const Delivery&) const = default;
};

inline constexpr std::uint8_t ReportStateVersion = 1;
inline constexpr std::size_t MaxReportGzipBytes = 64u << 20;  // gzip.hpp's MaxGzipInput
inline constexpr std::size_t MaxStateStringBytes = 4096;      // ids, names, URIs, hosts
inline constexpr std::size_t MaxDeliveryErrorBytes = 512;
inline constexpr int LookupIndex = 0;  // destinations are 1..MaxReportUris

// Keys. Every key starts with its kind and the day, so a day is swept by prefix; the
// delivery keys of a day and domain sort together and in index order.
std::string dayPlanKey(UtcDay day);                                        // "day 2026-11-29"
std::string reportKey(UtcDay day, std::string_view domain);                // "rep 2026-11-29 example.com"
std::string deliveryKey(UtcDay day, std::string_view domain, int index);   // "dst 2026-11-29 example.com 01"
std::string deliveryDayPrefix(UtcDay day);                                 // "dst 2026-11-29 "
std::string deliveryDomainPrefix(UtcDay day, std::string_view domain);     // "dst 2026-11-29 example.com "
inline constexpr std::string_view DeliveryKeyPrefix = "dst ";

struct StateKey {
  enum class Kind { DayPlan, Report, Delivery } kind = Kind::DayPlan;
  UtcDay day;
  std::string domain;  // Report, Delivery
  int index = 0;       // Delivery
};
// InvalidInput unless `key` is exactly what one of the key functions writes (a valid date,
// a lower-case hostname, two index digits 00..MaxReportUris).
Result<StateKey> parseStateKey(std::string_view key);

std::string encodeDayPlan(const DayPlan& plan);
Result<DayPlan> decodeDayPlan(std::string_view bytes);
// InvalidInput for a report whose strings or gzip exceed the bounds (nothing is stored).
Result<std::string> encodeStoredReport(const StoredReport& report);
Result<StoredReport> decodeStoredReport(std::string_view bytes);
// Strings past their bounds are cut (last_error) or refused (the rua: InvalidInput).
Result<std::string> encodeDelivery(const Delivery& delivery);
Result<Delivery> decodeDelivery(std::string_view bytes);

}  // namespace mtasts::tlsrpt
