// Splits one mail-log line into its syslog header (timestamp, host, ident, pid) and the
// message. Pure, no allocation: every view points into the caller's line. Knows the forms
// Postfix logs end up in: BSD syslog / postlogd's maillog_file ("Dec  1 00:39:32 host
// postfix/smtp[123]: ..."; postlogd pads the day with a zero), RFC 3339 stamps as rsyslog and
// journalctl -o short-iso write them, and RFC 5424 ("<22>1 TS HOST APP PROCID MSGID SD MSG").
#pragma once

#include <cstdint>
#include <string_view>

namespace mtasts::postfix {

enum class SyslogFormat : std::uint8_t { Bsd, Iso, Rfc5424 };

struct SyslogHeader {
  SyslogFormat format = SyslogFormat::Bsd;
  std::string_view timestamp;  // as written ("Dec 01 00:39:32", "2024-05-01T10:00:00+02:00")
  std::string_view hostname;   // empty when the line has none ("-" in RFC 5424)
  std::string_view ident;      // "postfix/smtp", "postfix-out/relay/smtp"
  std::uint32_t pid = 0;       // 0 when the line carries none
  std::string_view message;    // after "ident[pid]: " (RFC 5424: after SD and any BOM)
};

// False when the line has none of the forms above (the header fields are then unspecified).
// A leading "<PRI>" is accepted before every form, as network syslog writes it.
bool splitSyslogLine(std::string_view line, SyslogHeader& out) noexcept;

// The process name of an ident: its last '/' component ("smtp" of "postfix/relay/smtp");
// empty when the ident has no '/' (then it is not a Postfix daemon: mail_task.c always logs
// "syslog_name/process").
std::string_view postfixProcess(std::string_view ident) noexcept;

// The instance an ident belongs to: its first '/' component ("postfix", "postfix-out").
std::string_view postfixInstance(std::string_view ident) noexcept;

}  // namespace mtasts::postfix
