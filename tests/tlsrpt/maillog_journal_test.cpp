// The journal source over real journal files made at test time without journald:
// systemd-journal-remote turns export-format text (built here from the fixture lines) into a
// .journal file, and appends to it when run again. Exits 77 (SKIP) without that tool.
#include "postfix/maillog_line.hpp"
#include "postfix/maillog_syslog.hpp"
#include "tests/tlsrpt/maillog_file_support.hpp"
#include "tlsrpt/maillog_journal_reader.hpp"
#include "tlsrpt/maillog_pump.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;
using Lines = std::vector<std::string>;

namespace {

constexpr const char* JournalRemote = "/lib/systemd/systemd-journal-remote";
constexpr UnixSeconds Dec1 = 1764547200;
constexpr const char* BootId = "0123456789abcdef0123456789abcdef";

void requireTool() {
  if (::access(JournalRemote, X_OK) != 0) {
    std::fprintf(stderr, "SKIP: %s missing (Debian package systemd-journal-remote)\n", JournalRemote);
    std::exit(77);
  }
}

struct Entry {
  std::string ident;
  std::string comm;  // empty: no _COMM field (journald could not read it)
  std::uint32_t pid = 0;
  std::string message;
  int facility = 2;
};

// Export format (systemd.io/JOURNAL_EXPORT_FORMATS): FIELD=value lines, a blank line after
// each entry. Times rise by 1 ms per entry from `start_ms`.
std::string exportText(const std::vector<Entry>& entries, std::uint64_t start_ms) {
  std::string out;
  std::uint64_t ms = start_ms;
  for (const Entry& e : entries) {
    out += "__REALTIME_TIMESTAMP=" + std::to_string(ms * 1000) + "\n";
    out += "__MONOTONIC_TIMESTAMP=" + std::to_string((ms - static_cast<std::uint64_t>(Dec1) * 1000 + 1000) * 1000) + "\n";
    out += std::string("_BOOT_ID=") + BootId + "\n";
    out += "SYSLOG_IDENTIFIER=" + e.ident + "\n";
    if (!e.comm.empty()) out += "_COMM=" + e.comm + "\n";
    out += "_PID=" + std::to_string(e.pid) + "\n";
    out += "SYSLOG_FACILITY=" + std::to_string(e.facility) + "\n";
    out += "MESSAGE=" + e.message + "\n\n";
    ++ms;
  }
  return out;
}

// Writes (or appends to) a journal file with systemd-journal-remote.
void writeJournal(const std::string& path, const std::vector<Entry>& entries, std::uint64_t start_ms) {
  const std::string cmd = std::string(JournalRemote) + " --output=" + path + " - 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "w");
  REQUIRE(p != nullptr);
  const std::string text = exportText(entries, start_ms);
  REQUIRE(std::fwrite(text.data(), 1, text.size(), p) == text.size());
  const int status = ::pclose(p);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

// A fixture log's lines as the journal would have them (syslog(3) through /dev/log).
std::vector<Entry> fixtureEntries(const char* name) {
  std::vector<Entry> out;
  const std::string text = slurp(std::string(MTASTS_MAILLOG_FIXTURES) + "/" + name);
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    postfix::SyslogHeader h;
    REQUIRE(postfix::splitSyslogLine(rest.substr(0, nl), h));
    out.push_back({std::string(h.ident), std::string(postfix::postfixProcess(h.ident)), h.pid, std::string(h.message)});
    rest.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<MaillogSession> directSessions(const char* name) {
  MaillogSessions direct;
  std::vector<MaillogSession> out;
  for (const Entry& e : fixtureEntries(name)) direct.feed(postfix::parseMaillogMessage(e.ident, e.pid, e.message), Dec1, out);
  return out;
}

MaillogJournalOptions filesOnly(const std::string& path) {
  MaillogJournalOptions o;
  o.files = {path};
  return o;
}

struct Run {
  std::vector<MaillogSession> sessions;
  MaillogPosition position;
};

// Starts a reader from `stored`, pumps until idle, flushes; the sessions and last position.
Run pumpJournal(const std::string& path, const MaillogPosition& stored) {
  MaillogJournalReader reader(filesOnly(path));
  REQUIRE(reader.start(stored, Dec1));
  ManualClock clock(Dec1 + 3600);
  Run run;
  run.position = stored;
  MaillogPump pump(reader, {}, [&](MaillogBatch&& b) {
    run.sessions.insert(run.sessions.end(), b.sessions.begin(), b.sessions.end());
    CHECK(b.position_key == "journal");
    run.position = b.position;
  }, clock);
  for (int i = 0; i < 1000 && pump.cycle(); ++i) {
  }
  pump.flush();
  return run;
}

void expectSame(const std::vector<MaillogSession>& got, const std::vector<MaillogSession>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].policy_domain == want[i].policy_domain);
    CHECK(got[i].mx_host == want[i].mx_host);
    CHECK(got[i].success == want[i].success);
    CHECK(got[i].failure.result == want[i].failure.result);
    CHECK(got[i].failure.failure_reason_code == want[i].failure.failure_reason_code);
    CHECK(got[i].queue_id == want[i].queue_id);
  }
}

}  // namespace

TEST_CASE("the journal reader takes smtp and tlsproxy entries of any instance and nothing else") {
  requireTool();
  TempDir dir;
  const std::string path = dir.file("mail.journal");
  writeJournal(path,
               {{"postfix/smtp", "smtp", 10, "one"},
                {"postfix/qmgr", "qmgr", 11, "qmgr entry"},
                {"postfix/smtp", "logger", 12, "forged with logger -t"},
                {"postfix-out/smtp", "smtp", 13, "other instance"},
                {"postfix/relay/smtp", "smtp", 14, "relay service"},
                {"postfix/tlsproxy", "tlsproxy", 15, "proxy"},
                {"postfix/smtp", "", 16, "no _COMM, mail facility"},
                {"sshd", "sshd", 17, "not mail", 4},
                {"postfix/smtpd", "smtpd", 18, "the server side"},
                {"postfix/smtp", "smtp", 19, std::string(20000, 'x')}},
               static_cast<std::uint64_t>(Dec1) * 1000);
  MaillogJournalReader reader(filesOnly(path));
  SUBCASE("without a cursor the reader starts after what exists") {
    REQUIRE(reader.start(std::monostate{}, Dec1));
    CHECK(drain(reader).empty());
  }
  SUBCASE("read from the start") {
    // A cursor naming a time before everything: the journal resumes at its first entry.
    MaillogJournalReader from_start(filesOnly(path));
    REQUIRE(from_start.start(JournalPosition{"s=00000000000000000000000000000000;i=1;b=" + std::string(BootId) +
                                             ";m=0;t=" + std::to_string(static_cast<std::uint64_t>(Dec1) * 1000000 - 1) + ";x=0"},
                             Dec1));
    CHECK(drain(from_start) == Lines{"one", "other instance", "relay service", "proxy", "no _COMM, mail facility"});
    CHECK(from_start.counters().overlong == 1);
    CHECK(from_start.counters().lost_gaps == 1);  // that cursor named no entry
  }
}

TEST_CASE("the fixture logs through the journal give the sessions of parsing the files directly") {
  requireTool();
  for (const char* name : {"postfix-3.7-e2e.log", "postfix-3.7-capture.log", "postfix-3.7-tlsproxy.log",
                           "postfix-3.7-relayhost.log"}) {
    CAPTURE(name);
    TempDir dir;
    const std::string path = dir.file("mail.journal");
    writeJournal(path, {{"postfix/pickup", "pickup", 1, "before the reader starts"}}, static_cast<std::uint64_t>(Dec1) * 1000);
    // Start from the end, as a first start does; then the fixture is appended.
    MaillogPosition stored;
    {
      MaillogJournalReader reader(filesOnly(path));
      REQUIRE(reader.start(std::monostate{}, Dec1));
      stored = reader.position();
      REQUIRE(std::holds_alternative<JournalPosition>(stored));
    }
    writeJournal(path, fixtureEntries(name), static_cast<std::uint64_t>(Dec1) * 1000 + 1000);
    const Run run = pumpJournal(path, stored);
    expectSame(run.sessions, directSessions(name));
    for (const auto& s : run.sessions) CHECK(s.at / 60 == Dec1 / 60);  // __REALTIME_TIMESTAMP, not the clock
  }
}

TEST_CASE("a restart from the stored cursor reads exactly the entries appended after it") {
  requireTool();
  TempDir dir;
  const std::string path = dir.file("mail.journal");
  writeJournal(path, {{"postfix/pickup", "pickup", 1, "start"}}, static_cast<std::uint64_t>(Dec1) * 1000);
  MaillogPosition stored;
  {
    MaillogJournalReader reader(filesOnly(path));
    REQUIRE(reader.start(std::monostate{}, Dec1));
    stored = reader.position();
  }
  writeJournal(path, fixtureEntries("postfix-3.7-e2e.log"), static_cast<std::uint64_t>(Dec1) * 1000 + 1000);
  const Run first = pumpJournal(path, stored);
  expectSame(first.sessions, directSessions("postfix-3.7-e2e.log"));
  // The cursor survives the store's codec.
  const auto decoded = decodeMaillogPosition(encodeMaillogPosition(first.position));
  REQUIRE(decoded);
  CHECK(pumpJournal(path, *decoded).sessions.empty());
  writeJournal(path, fixtureEntries("postfix-3.7-capture.log"), static_cast<std::uint64_t>(Dec1) * 1000 + 100000);
  const Run second = pumpJournal(path, *decoded);
  expectSame(second.sessions, directSessions("postfix-3.7-capture.log"));
}

TEST_CASE("a cursor whose entry is gone resumes at the first entry after its place") {
  requireTool();
  TempDir dir;
  const std::string old_path = dir.file("old.journal");
  const std::uint64_t t0 = static_cast<std::uint64_t>(Dec1) * 1000;
  writeJournal(old_path, {{"postfix/smtp", "smtp", 1, "a"}, {"postfix/smtp", "smtp", 1, "b"}}, t0);
  MaillogPosition after_b;
  {
    MaillogJournalReader reader(filesOnly(old_path));
    REQUIRE(reader.start(JournalPosition{"s=00000000000000000000000000000000;i=1;b=" + std::string(BootId) +
                                         ";m=0;t=" + std::to_string(t0 * 1000 - 1) + ";x=0"},
                         Dec1));
    CHECK(drain(reader) == Lines{"a", "b"});
    after_b = reader.position();
  }
  // The old file vacuumed; a newer one holds an entry from before the cursor and two after.
  const std::string new_path = dir.file("new.journal");
  writeJournal(new_path, {{"postfix/smtp", "smtp", 1, "older than b"}}, t0);
  writeJournal(new_path, {{"postfix/smtp", "smtp", 1, "c"}, {"postfix/smtp", "smtp", 1, "d"}}, t0 + 10);
  MaillogJournalReader reader(filesOnly(new_path));
  REQUIRE(reader.start(after_b, Dec1));
  CHECK(drain(reader) == Lines{"c", "d"});
  CHECK(reader.counters().lost_gaps == 1);
}
