#include "tlsrpt/maillog_timestamp.hpp"

#include <ctime>

namespace mtasts::tlsrpt {

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int monthOf(std::string_view name) {
  static constexpr std::string_view Months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (name == Months[i]) return i;
  }
  return -1;
}

}  // namespace

std::optional<UnixSeconds> parseRfc3339Seconds(std::string_view s) noexcept {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t at = 19;
  if (s[at] == '.') {
    ++at;
    const std::size_t from = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == from || at - from > 9) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const bool minus = s[at] == '-';
    int oh = 0, om = 0;
    if (!digits(s, at + 1, 2, oh)) return std::nullopt;
    std::size_t m_at = at + 3;
    if (m_at < s.size() && s[m_at] == ':') ++m_at;
    if (!digits(s, m_at, 2, om) || oh > 23 || om > 59) return std::nullopt;
    at = m_at + 2;
    offset = (oh * 3600 + om * 60) * (minus ? -1 : 1);
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  const std::int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + h * 3600 + mi * 60 + sec - offset;
}

std::optional<UnixSeconds> MaillogTimestamps::toUnix(const postfix::SyslogHeader& header, UnixSeconds now) {
  if (header.format == postfix::SyslogFormat::Bsd) return bsd(header.timestamp, now);
  return parseRfc3339Seconds(header.timestamp);
}

// "Dec  1 00:39:32" / "Dec 01 00:39:32" / "Dec 1 00:39:32" (as splitSyslogLine accepted it).
std::optional<UnixSeconds> MaillogTimestamps::bsd(std::string_view stamp, UnixSeconds now) {
  if (stamp.size() < 14) return std::nullopt;
  const std::string_view minute = stamp.substr(0, stamp.size() - 3);  // up to "hh:mm"
  int sec = 0;
  if (stamp[stamp.size() - 3] != ':' || !digits(stamp, stamp.size() - 2, 2, sec) || sec > 60) return std::nullopt;
  if (minute == minute_ && now / 86400 == minute_now_day_) return minute_start_ + sec;

  const int month = monthOf(stamp.substr(0, 3));
  std::string_view rest = stamp.substr(4);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const auto space = rest.find(' ');
  int day = 0, h = 0, mi = 0;
  if (month < 0 || space == std::string_view::npos || space == 0 || space > 2 ||
      !digits(rest, 0, space, day) || !digits(rest, space + 1, 2, h) || !digits(rest, space + 4, 2, mi)) {
    return std::nullopt;
  }
  const auto now_t = static_cast<std::time_t>(now);
  std::tm local{};
  if (::localtime_r(&now_t, &local) == nullptr) return std::nullopt;
  // This year, unless that is more than a day ahead of now (December lines read in January).
  std::optional<UnixSeconds> result;
  for (int year = local.tm_year; year >= local.tm_year - 1 && !result; --year) {
    std::tm tm{};
    tm.tm_year = year;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = -1;
    const std::time_t t = ::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) continue;
    if (static_cast<UnixSeconds>(t) <= now + 86400 || year < local.tm_year) result = static_cast<UnixSeconds>(t);
  }
  if (!result) return std::nullopt;
  minute_.assign(minute);
  minute_start_ = *result;
  minute_now_day_ = now / 86400;
  return *result + sec;
}

}  // namespace mtasts::tlsrpt
