#include "tlsrpt/utc_day.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <charconv>
#include <chrono>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

std::chrono::year_month_day civil(UtcDay day) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day.days}}};
}

// Euclidean division: the remainder is always in [0, divisor).
std::int64_t floorDiv(std::int64_t value, std::int64_t divisor) noexcept {
  std::int64_t q = value / divisor;
  if (value % divisor < 0) --q;
  return q;
}

bool parseDigits(std::string_view text, int& out) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

UtcDay utcDayOf(UnixSeconds t) noexcept { return UtcDay{floorDiv(t, SecondsPerDay)}; }
UnixSeconds dayStart(UtcDay day) noexcept { return day.days * SecondsPerDay; }
UnixSeconds dayEnd(UtcDay day) noexcept { return dayStart(day) + SecondsPerDay - 1; }

std::string formatDate(UtcDay day) {
  const auto ymd = civil(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string formatDateTime(UnixSeconds t) {
  const UtcDay day = utcDayOf(t);
  const UnixSeconds s = t - dayStart(day);
  return fmt::format("{}T{:02}:{:02}:{:02}Z", formatDate(day), s / 3600, s / 60 % 60, s % 60);
}

std::string formatRfc5322Date(UnixSeconds t) {
  static constexpr std::array<const char*, 7> Weekdays = {"Sun", "Mon", "Tue", "Wed",
                                                          "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> Months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const UtcDay day = utcDayOf(t);
  const auto ymd = civil(day);
  const std::chrono::weekday wd{std::chrono::sys_days{std::chrono::days{day.days}}};
  const UnixSeconds s = t - dayStart(day);
  return fmt::format("{}, {} {} {:04} {:02}:{:02}:{:02} +0000", Weekdays[wd.c_encoding()],
                     static_cast<unsigned>(ymd.day()),
                     Months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                     s / 3600, s / 60 % 60, s % 60);
}

Result<UtcDay> parseUtcDay(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("day \"{}\": {}", escapeForLog(text, 40), why));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad("expected YYYY-MM-DD");
  int y = 0;
  int m = 0;
  int d = 0;
  if (!parseDigits(text.substr(0, 4), y) || !parseDigits(text.substr(5, 2), m) ||
      !parseDigits(text.substr(8, 2), d)) {
    return bad("expected YYYY-MM-DD");
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (y < 1970) return bad("before 1970");
  return UtcDay{std::chrono::sys_days{ymd}.time_since_epoch().count()};
}

}  // namespace mtasts::tlsrpt
