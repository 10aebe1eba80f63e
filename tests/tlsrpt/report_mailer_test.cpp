// The report mail of a stored report and its hand-over to sendmail: the message for one
// destination (headers, the same Message-ID on every retry, one DKIM-Signature per key with
// RSA and Ed25519 together), the tlsrpt_sendmail template (FROM/TO words, no shell, no option
// injection from a hostile rua), CRLF to LF for sendmail's input, and SendmailMailSender with
// fake sendmail scripts on a real event loop: the exact argv and input, a failing exit with
// its output in the reason, and the time bound.
#include <doctest/doctest.h>
#include <event2/event.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "net/c_handles.hpp"
#include "net/child_process.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/dkim_signer.hpp"
#include "tlsrpt/report_mailer.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

using namespace std::chrono_literals;

StoredReport storedReport() {
  StoredReport r;
  r.report_id = "2025-11-29.0123456789abcdef.example.com@sender.test";
  r.file_name = "sender.test!example.com!1764374400!1764460799!202511290123456789abcdefexamplec.json.gz";
  r.submitter = "sender.test";
  r.created_at = 1764464400;
  r.gzip = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03report", 16);
  return r;
}

ReportUri mailto(const std::string& address) {
  ReportUri u;
  u.kind = RuaKind::Mailto;
  u.uri = "mailto:" + address;
  u.address = address;
  return u;
}

MailIdentity identity() {
  MailIdentity m;
  m.from = "tlsrpt-noreply@sender.test";
  m.organization_name = "Sender Org";
  return m;
}

std::shared_ptr<const DkimKey> key(const std::string& name) {
  auto k = DkimKey::fromPemFile(test::goldenPath(name));
  REQUIRE(k);
  return std::make_shared<const DkimKey>(std::move(*k));
}

std::string header(const std::string& message, const std::string& name) {
  const std::string needle = "\r\n" + name + ": ";
  const auto at = ("\r\n" + message).find(needle);
  if (at == std::string::npos) return "";
  const auto start = at + needle.size() - 2;
  return message.substr(start, message.find("\r\n", start) - start);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A fake sendmail: writes its arguments and its stdin to files in `dir`, then runs `tail`.
std::string fakeSendmail(const test::TempDir& dir, const std::string& tail) {
  const std::string path = dir.file("sendmail");
  std::ofstream(path) << "#!/bin/sh\nprintf '%s\\n' \"$@\" > " << dir.file("argv") << "\ncat > " << dir.file("stdin")
                      << "\n" << tail << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

struct Loop {
  net::EventBasePtr base{event_base_new()};
  net::ChildProcessRunner runner{base.get()};

  Result<void> send(SendmailMailSender& sender, const std::string& message, std::string to = "tlsrpt@example.com") {
    std::optional<Result<void>> got;
    auto handle = sender.send("tlsrpt-noreply@sender.test", to, message, [&](Result<void> r) { got = std::move(r); });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!got && std::chrono::steady_clock::now() < deadline) event_base_loop(base.get(), EVLOOP_ONCE);
    REQUIRE(got.has_value());
    return std::move(*got);
  }
};

}  // namespace

TEST_CASE("a destination's report mail carries the RFC 8460 headers and the same ids on every retry") {
  const StoredReport r = storedReport();
  auto first = composeReportMail(r, UtcDay{20'421}, "example.com", mailto("tlsrpt@example.com"), 1, identity(), 1000);
  auto retry = composeReportMail(r, UtcDay{20'421}, "example.com", mailto("tlsrpt@example.com"), 1, identity(), 5000);
  auto other = composeReportMail(r, UtcDay{20'421}, "example.com", mailto("other@example.com"), 2, identity(), 1000);
  REQUIRE(first);
  REQUIRE(retry);
  REQUIRE(other);
  CHECK(header(*first, "To") == "tlsrpt@example.com");
  CHECK(header(*first, "From") == "tlsrpt-noreply@sender.test");
  CHECK(header(*first, "TLS-Report-Domain") == "example.com");
  CHECK(header(*first, "TLS-Report-Submitter") == "sender.test");
  CHECK(header(*first, "TLS-Required") == "No");
  CHECK(header(*first, "Subject") == "Report Domain: example.com Submitter: sender.test Report-ID:");
  CHECK(first->find("Report-ID:\r\n <" + r.report_id + ">") != std::string::npos);
  CHECK(header(*first, "Message-ID") == header(*retry, "Message-ID"));
  CHECK(header(*first, "Message-ID") != header(*other, "Message-ID"));
  CHECK(header(*first, "Date") != header(*retry, "Date"));
  CHECK(first->find("filename=\"" + r.file_name + "\"") != std::string::npos);
  CHECK(count(*first, "DKIM-Signature:") == 0);
}

TEST_CASE("with an RSA and an Ed25519 key the mail carries both signatures") {
  MailIdentity m = identity();
  m.signers = {DkimSigner{key("rfc8463-rsa.pem"), "brisbane"}, DkimSigner{key("rfc8463-ed25519.pem"), "brisbane-ed"}};
  auto mail = composeReportMail(storedReport(), UtcDay{20'421}, "example.com", mailto("tlsrpt@example.com"), 1, m, 1000);
  REQUIRE(mail);
  CHECK(count(*mail, "DKIM-Signature:") == 2);
  CHECK(mail->starts_with("DKIM-Signature: v=1; a=rsa-sha256;"));
  CHECK(mail->find("DKIM-Signature: v=1; a=ed25519-sha256;") != std::string::npos);
  CHECK(mail->find("d=sender.test;") != std::string::npos);  // the submitter, by default
  m.dkim_domain = "signer.test";
  auto other = composeReportMail(storedReport(), UtcDay{20'421}, "example.com", mailto("a@example.com"), 1, m, 1000);
  REQUIRE(other);
  CHECK(other->find("d=signer.test;") != std::string::npos);
}

TEST_CASE("the sendmail template takes FROM and TO as words and refuses what could be an option") {
  auto argv = sendmailArgv(DefaultSendmailCommand, "from@sender.test", "to@example.com");
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"/usr/sbin/sendmail", "-i", "-f", "from@sender.test", "--", "to@example.com"});
  auto custom = sendmailArgv("/usr/sbin/sendmail  -C /etc/postfix-out\t-i -f FROM -- TO", "f@s.test", "t@e.test");
  REQUIRE(custom);
  CHECK(custom->size() == 8);
  CHECK((*custom)[2] == "/etc/postfix-out");
  for (const char* bad : {"", "sendmail -i TO", "/usr/sbin/sendmail -i -f FROM"}) {
    CAPTURE(bad);
    CHECK_FALSE(sendmailCommandProblem(bad).empty());
    CHECK_FALSE(sendmailArgv(bad, "f@s.test", "t@e.test"));
  }
  CHECK_FALSE(sendmailArgv(DefaultSendmailCommand, "f@s.test", "-oQ/tmp@e.test"));
  CHECK_FALSE(sendmailArgv(DefaultSendmailCommand, "f@s.test", "a b@e.test"));
  CHECK_FALSE(sendmailArgv(DefaultSendmailCommand, "f@s.test", "no-at-sign"));
}

TEST_CASE("sendmail gets LF line ends") {
  CHECK(toUnixLineEnds("a\r\nb\r\n\r\nc\rd\n") == "a\nb\n\nc\rd\n");
}

TEST_CASE("SendmailMailSender hands the message to the command with the exact argv") {
  test::TempDir dir;
  Loop loop;
  SendmailMailSender sender(loop.runner, fakeSendmail(dir, "exit 0") + " -i -f FROM -- TO", 10s);
  auto r = loop.send(sender, "Subject: x\r\n\r\nbody\r\n");
  CHECK(r.has_value());
  CHECK(test::readFile(dir.file("argv")) == "-i\n-f\ntlsrpt-noreply@sender.test\n--\ntlsrpt@example.com\n");
  CHECK(test::readFile(dir.file("stdin")) == "Subject: x\n\nbody\n");
}

TEST_CASE("a failing sendmail is a failure with its exit code and output") {
  test::TempDir dir;
  Loop loop;
  SendmailMailSender sender(loop.runner, fakeSendmail(dir, "echo 'postdrop: warning: unable to look up public/pickup' >&2; exit 75") +
                                             " -i -f FROM -- TO",
                            10s);
  auto r = loop.send(sender, "x\r\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::Temporary);
  CHECK(r.error().detail.find("exit 75") != std::string::npos);
  CHECK(r.error().detail.find("unable to look up public/pickup") != std::string::npos);
}

TEST_CASE("a sendmail that hangs (postdrop without its group) is ended by the time bound") {
  test::TempDir dir;
  Loop loop;
  SendmailMailSender sender(loop.runner, fakeSendmail(dir, "exec sleep 30") + " -i -f FROM -- TO", 300ms);
  const auto start = std::chrono::steady_clock::now();
  auto r = loop.send(sender, "x\r\n");
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::Timeout);
  CHECK(r.error().detail.find("timeout after 300 ms") != std::string::npos);
}

TEST_CASE("an unusable recipient never reaches the command") {
  test::TempDir dir;
  Loop loop;
  SendmailMailSender sender(loop.runner, fakeSendmail(dir, "exit 0") + " -i -f FROM -- TO", 10s);
  auto r = loop.send(sender, "x\r\n", "-oQ@example.com");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::InvalidInput);
  CHECK_FALSE(std::ifstream(dir.file("argv")).good());
}
