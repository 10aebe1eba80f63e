// UTC calendar days and the date formats TLS-RPT needs: RFC 3339 date-times for the report's
// date-range, YYYY-MM-DD for the CLI and report ids, RFC 5322 dates for the report mail.
// Pure functions over whole Unix seconds (time comes from the injected Clock); no time zone
// database, no locale: everything is UTC. Parsing errors are InvalidInput with a reason.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace mtasts::tlsrpt {

// One UTC day, counted in days since 1970-01-01 (negative before).
struct UtcDay {
  std::int64_t days = 0;
  auto operator<=>(const UtcDay&) const = default;
};

constexpr UnixSeconds SecondsPerDay = 86400;

// The day that contains t (floor division: -1 s is 1969-12-31).
UtcDay utcDayOf(UnixSeconds t) noexcept;
// 00:00:00 of the day and its last second, 23:59:59 (RFC 8460 date-range and file name).
UnixSeconds dayStart(UtcDay day) noexcept;
UnixSeconds dayEnd(UtcDay day) noexcept;

// "2026-11-29". Years outside 0000-9999 are written with as many digits as they need.
std::string formatDate(UtcDay day);
// "2026-11-29T00:00:00Z" (RFC 3339 section 5.6, upper-case T and Z, no fraction).
std::string formatDateTime(UnixSeconds t);
// "Sun, 29 Nov 2026 00:00:00 +0000" (RFC 5322 section 3.3, English names, UTC).
std::string formatRfc5322Date(UnixSeconds t);

// "YYYY-MM-DD", a real calendar date between 1970-01-01 and 9999-12-31.
Result<UtcDay> parseUtcDay(std::string_view text);

}  // namespace mtasts::tlsrpt
