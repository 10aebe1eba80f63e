// MaillogTimestamps: the time a mail-log line was written, from its syslog stamp, so that a
// session read hours later (catching up after downtime, a restart behind a rotation) is
// counted in the UTC day it happened. RFC 3339 stamps (rsyslog on Debian 12, RFC 5424,
// journalctl -o short-iso) are exact; a BSD stamp ("Dec  1 00:39:32", postlogd's
// maillog_file) has no year and no zone: local time (TZ) in the latest year that puts it no
// more than a day after `now`. Not thread-safe (one per reader thread); nullopt when unparsable.
#pragma once

#include "common/clock.hpp"
#include "postfix/maillog_syslog.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

// "2024-05-01T10:00:00.123456+02:00", "...Z", "...+0200": whole seconds, UTC.
std::optional<UnixSeconds> parseRfc3339Seconds(std::string_view stamp) noexcept;

class MaillogTimestamps {
 public:
  std::optional<UnixSeconds> toUnix(const postfix::SyslogHeader& header, UnixSeconds now);

 private:
  std::optional<UnixSeconds> bsd(std::string_view stamp, UnixSeconds now);

  // Lines come in bursts within the same minute: mktime() once per minute of stamps.
  std::string minute_;  // "Dec  1 00:39" of the last BSD stamp converted
  UnixSeconds minute_start_ = 0;
  UnixSeconds minute_now_day_ = -1;  // now / 86400 when minute_ was converted
};

}  // namespace mtasts::tlsrpt
