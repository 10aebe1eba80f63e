#include "postfix/maillog_line.hpp"
#include "postfix/maillog_syslog.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts::postfix;

namespace {

constexpr std::string_view kMsg = "Verified TLS connection established to mx.good.test[127.0.60.1]:25: "
                                  "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";

}  // namespace

TEST_CASE("syslog header splitter reads every form Postfix's log lines end up in") {
  struct Case {
    const char* name;
    std::string line;
    SyslogFormat format;
    std::string_view timestamp, hostname, ident;
    std::uint32_t pid;
  };
  const std::string m(kMsg);
  const Case cases[] = {
      {"postlogd maillog_file (zero-padded day, seen in the 3.7 fixtures)",
       "Dec 01 00:39:32 sender postfix/smtp[22088]: " + m, SyslogFormat::Bsd, "Dec 01 00:39:32",
       "sender", "postfix/smtp", 22088},
      {"RFC 3164 syslogd (space-padded day)", "Dec  1 00:39:32 mail postfix/smtp[7]: " + m,
       SyslogFormat::Bsd, "Dec  1 00:39:32", "mail", "postfix/smtp", 7},
      {"single-space day", "Jan 5 10:00:00 mail postfix/smtp[7]: " + m, SyslogFormat::Bsd,
       "Jan 5 10:00:00", "mail", "postfix/smtp", 7},
      {"network syslog with <PRI>", "<22>Dec  1 00:39:32 mail postfix/smtp[7]: " + m,
       SyslogFormat::Bsd, "Dec  1 00:39:32", "mail", "postfix/smtp", 7},
      {"no hostname", "Dec  1 00:39:32 postfix/smtp[7]: " + m, SyslogFormat::Bsd,
       "Dec  1 00:39:32", "", "postfix/smtp", 7},
      {"rsyslog RSYSLOG_FileFormat", "2024-05-01T10:00:00.123456+02:00 mx1 postfix/smtp[99]: " + m,
       SyslogFormat::Iso, "2024-05-01T10:00:00.123456+02:00", "mx1", "postfix/smtp", 99},
      {"journalctl -o short-iso", "2024-05-01T10:00:00+0200 mx1 postfix/smtp[99]: " + m,
       SyslogFormat::Iso, "2024-05-01T10:00:00+0200", "mx1", "postfix/smtp", 99},
      {"RFC 5424 without structured data",
       "<22>1 2024-05-01T08:00:00.5Z mx1 postfix/smtp 4242 - - " + m, SyslogFormat::Rfc5424,
       "2024-05-01T08:00:00.5Z", "mx1", "postfix/smtp", 4242},
      {"RFC 5424 with structured data and a BOM",
       "<22>1 2024-05-01T08:00:00Z mx1 postfix/smtp 4242 - [origin ip=\"192.0.2.1\" x=\"a\\]b\"] "
       "\xEF\xBB\xBF" + m,
       SyslogFormat::Rfc5424, "2024-05-01T08:00:00Z", "mx1", "postfix/smtp", 4242},
      {"multi-instance syslog_name", "Dec  1 00:39:32 mail postfix-out/smtp[8]: " + m,
       SyslogFormat::Bsd, "Dec  1 00:39:32", "mail", "postfix-out/smtp", 8},
      {"per-service syslog_name (Debian's relay transport)",
       "Dec  1 00:39:32 mail postfix/relay/smtp[9]: " + m, SyslogFormat::Bsd, "Dec  1 00:39:32",
       "mail", "postfix/relay/smtp", 9},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    SyslogHeader h;
    REQUIRE(splitSyslogLine(c.line, h));
    CHECK(h.format == c.format);
    CHECK(h.timestamp == c.timestamp);
    CHECK(h.hostname == c.hostname);
    CHECK(h.ident == c.ident);
    CHECK(h.pid == c.pid);
    CHECK(h.message == kMsg);
    const MaillogEvent ev = parseMaillogLine(c.line);
    CHECK(ev.kind == MaillogKind::TlsEstablished);
    CHECK(ev.peer.host == "mx.good.test");
  }
}

TEST_CASE("syslog header splitter refuses lines without a recognisable header") {
  const char* bad[] = {
      "",
      "just text",
      "Dec  1 00:39:32",
      "Dec  1 00:39:32 host",
      "Dec  1 00:39:32 host postfix/smtp[12x]: text",
      "Dec  1 00:39:32 host postfix/smtp[99999999999]: text",
      "Dec  1 0:39:32 host postfix/smtp[1]: text",
      "Dec xx 00:39:32 host postfix/smtp[1]: text",
      "<999999>Dec  1 00:39:32 host postfix/smtp[1]: text",
      "<22 Dec  1 00:39:32 host postfix/smtp[1]: text",
      "<22>1 2024-05-01T08:00:00Z mx1 postfix/smtp 1 - [unterminated text",
      "<22>1 2024-05-01T08:00:00Z mx1 postfix/smtp",
      "2024-05-01 10:00:00 host postfix/smtp[1]: text",
  };
  for (const char* line : bad) {
    CAPTURE(line);
    SyslogHeader h;
    CHECK_FALSE(splitSyslogLine(line, h));
    CHECK(parseMaillogLine(line).kind == MaillogKind::NotPostfix);
  }
}

TEST_CASE("lines of other programs and other Postfix daemons stop at the process name") {
  const char* others[] = {
      "Dec  1 00:39:32 mail sshd[1]: Verified TLS connection established to a[1.2.3.4]:25: x",
      "Dec  1 00:39:32 mail postfix/qmgr[2]: D791CA7299F: from=<a@b>, size=1, nrcpt=1",
      "Dec  1 00:39:32 mail postfix/smtpd[3]: Anonymous TLS connection established from x[1.2.3.4]",
      "Dec  1 00:39:32 mail postfix/lmtp[4]: D791CA7299F: to=<a@b>, relay=x[1.2.3.4]:24, dsn=2.0.0, "
      "status=sent (ok)",
      "Dec  1 00:39:32 mail smtp[5]: D791CA7299F: to=<a@b>, relay=x[1.2.3.4]:25, dsn=2.0.0, "
      "status=sent (ok)",
  };
  for (const char* line : others) {
    CAPTURE(line);
    const MaillogEvent ev = parseMaillogLine(line);
    CHECK(ev.kind == MaillogKind::NotPostfix);
    CHECK(ev.process == MaillogProcess::Other);
  }
}

TEST_CASE("the process and instance of an ident are its last and first components") {
  CHECK(postfixProcess("postfix/smtp") == "smtp");
  CHECK(postfixProcess("postfix-out/relay/smtp") == "smtp");
  CHECK(postfixProcess("sshd").empty());
  CHECK(postfixInstance("postfix-out/relay/smtp") == "postfix-out");
  CHECK(postfixInstance("postfix/tlsproxy") == "postfix");
}

TEST_CASE("a journal message is parsed without a syslog header") {
  const MaillogEvent ev = parseMaillogMessage("postfix/smtp", 4711, kMsg);
  CHECK(ev.kind == MaillogKind::TlsEstablished);
  CHECK(ev.header.pid == 4711);
  CHECK(ev.instance == "postfix");
  CHECK(parseMaillogMessage("postfix/cleanup", 1, kMsg).kind == MaillogKind::NotPostfix);
}
