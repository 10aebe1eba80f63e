// Line times: RFC 3339 stamps exactly, BSD stamps in local time with the year guessed from
// now (TZ set by the test, so the answers do not depend on the machine).
#include "postfix/maillog_syslog.hpp"
#include "tlsrpt/maillog_timestamp.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

// Sets TZ for the scope of a test case and restores it.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old, had_ = true;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (had_) ::setenv("TZ", old_.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

std::optional<UnixSeconds> lineTime(MaillogTimestamps& ts, const std::string& line, UnixSeconds now) {
  postfix::SyslogHeader h;
  REQUIRE(postfix::splitSyslogLine(line, h));
  return ts.toUnix(h, now);
}

}  // namespace

TEST_CASE("RFC 3339 stamps convert exactly, with any zone form, and malformed ones do not") {
  struct Row {
    const char* stamp;
    std::optional<UnixSeconds> want;
  };
  const Row rows[] = {
      {"2025-12-01T00:39:32Z", 1764549572},
      {"2025-12-01T00:39:32.123456+00:00", 1764549572},
      {"2025-12-01T01:39:32+01:00", 1764549572},
      {"2025-12-01T01:39:32+0100", 1764549572},
      {"2025-11-30T19:39:32-05:00", 1764549572},
      {"2024-02-29T12:00:00Z", 1709208000},
      {"1970-01-01T00:00:00Z", 0},
      {"2025-12-01T00:39:32", std::nullopt},      // no zone
      {"2025-13-01T00:39:32Z", std::nullopt},
      {"2025-12-01T24:00:00Z", std::nullopt},
      {"2025-12-01T00:39:32.Z", std::nullopt},
      {"2025-12-01T00:39:32+01", std::nullopt},
      {"2025-12-01T00:39:32Zjunk", std::nullopt},
      {"2025-12-01X00:39:32Z", std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.stamp);
    CHECK(parseRfc3339Seconds(row.stamp) == row.want);
  }
}

TEST_CASE("BSD stamps are local time in the year that puts them at most a day after now") {
  ScopedTz tz("UTC0");
  MaillogTimestamps ts;
  const UnixSeconds dec1_2025 = 1764547200;  // 2025-12-01T00:00:00Z
  CHECK(lineTime(ts, "Dec  1 00:39:32 sender postfix/smtp[1]: x", dec1_2025 + 3600) == dec1_2025 + 2372);
  CHECK(lineTime(ts, "Dec 01 00:39:33 sender postfix/smtp[1]: x", dec1_2025 + 3600) == dec1_2025 + 2373);
  CHECK(lineTime(ts, "Dec 1 00:39:34 sender postfix/smtp[1]: x", dec1_2025 + 3600) == dec1_2025 + 2374);
  // Read on 2 January 2026, a line from 31 December is from 2025.
  const UnixSeconds jan2_2026 = 1767312000;
  CHECK(lineTime(ts, "Dec 31 23:59:59 sender postfix/smtp[1]: x", jan2_2026) == 1767225599);
  // A line a few hours ahead of the clock (clock skew) stays in this year.
  CHECK(lineTime(ts, "Dec  1 05:00:00 sender postfix/smtp[1]: x", dec1_2025) == dec1_2025 + 5 * 3600);
}

TEST_CASE("BSD stamps follow the local zone, DST included") {
  ScopedTz tz("CET-1CEST,M3.5.0,M10.5.0/3");
  MaillogTimestamps ts;
  const UnixSeconds july = 1751328000;  // 2025-07-01T00:00:00Z
  CHECK(lineTime(ts, "Jul  1 02:00:00 h postfix/smtp[1]: x", july) == july);           // CEST, +2
  CHECK(lineTime(ts, "Jan  1 01:00:00 h postfix/smtp[1]: x", july) == 1735689600);     // CET, +1
}
