// Small text helpers shared by the --check-domain finding builders (domain_check_*.cpp):
// finding constructors, list joining, dates and durations for messages. Pure; internal to
// the command.
#pragma once

#include "check/domain_check.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mtasts::check {

inline Finding ok(std::string check, std::string subject, std::string message) {
  return Finding{Severity::Ok, std::move(check), std::move(subject), std::move(message), {}, false};
}

inline Finding problem(Severity severity, std::string check, std::string subject, std::string message,
                       std::string fix, bool blocks_enforce = false) {
  return Finding{severity, std::move(check), std::move(subject), std::move(message), std::move(fix), blocks_enforce};
}

// The character-strings of one TXT RR joined with nothing between (RFC 8461 3.1, RFC 8460 3).
std::string joinStrings(const std::vector<std::string>& strings);
// "a, b, c", each item escaped.
std::string joinList(const std::vector<std::string>& items);
// An empty DNS detail says nothing: "unknown error" then.
std::string orUnknown(const std::string& detail);
// SSLv3, TLS 1.0 and 1.1 (RFC 8996 deprecates them).
bool isOldTls(std::string_view version);
// "2026-12-01" (UTC).
std::string dateText(UnixSeconds t);
// "2026-12-01T03:04:05Z".
std::string timestampText(UnixSeconds t);
// "7 days", "1 day", "12 hours", "300 s": the largest whole unit.
std::string durationText(std::int64_t seconds);

}  // namespace mtasts::check
