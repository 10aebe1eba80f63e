// --read-reports end to end, in process: report mails made by our own writer and mail builder
// in an mbox (with unrelated mail between them) and in a Maildir, damaged copies with their
// skip lines, duplicates, --since against an injected now, the exit codes and the JSON output.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tlsrpt/report_mail_factory.hpp"
#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/read_reports_command.hpp"
#include "tlsrpt/report_mail.hpp"

namespace mtasts::tlsrpt {
namespace {

namespace fs = std::filesystem;

constexpr UtcDay Day{20786};                          // 2026-11-29
constexpr UnixSeconds Now = 20788 * SecondsPerDay;    // 2026-12-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "mtasts-read-reports-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& rel, const std::string& content) const {
    const fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path(const std::string& rel = "") const { return rel.empty() ? path_ : (fs::path(path_) / rel).string(); }

 private:
  std::string path_;
};

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args, UnixSeconds now = Now) {
  auto options = parseReadReportsArguments(args, now);
  REQUIRE_MESSAGE(options.has_value(), options.error().detail);
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.status = runReadReports(*options, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

test::MadeReport made(std::size_t index, UtcDay day = Day) {
  auto m = test::makeReport(index, day);
  REQUIRE_MESSAGE(m.has_value(), m.error().detail);
  return *m;
}

// Our mail with its attachment's base64 replaced (the mail builder's output is the template).
std::string withAttachment(const test::MadeReport& m, const std::string& base64_body) {
  const std::string original = base64Lines(m.gzip);
  std::string mail = m.mail;
  const auto at = mail.find(original);
  REQUIRE(at != std::string::npos);
  mail.replace(at, original.size(), base64_body);
  return mail;
}

const std::string Unrelated =
    "From: alice@example.net\nTo: tlsrpt@d1.example\nSubject: hello\n\nFrom the start of a line.\n";

TEST_CASE("reports made by our writer and mail builder are read from an mbox and a Maildir") {
  TempDir dir;
  std::string mbox;
  std::uint64_t successful = 0;
  std::uint64_t failed = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const auto m = made(i);
    successful += m.report.policies[0].successful_sessions;
    failed += m.report.policies[0].failed_sessions;
    if (i < 20) mbox += test::mboxEntry(m.mail);
    if (i % 7 == 0) mbox += test::mboxEntry(Unrelated, "alice@example.net");
    if (i >= 20) dir.file("Maildir/" + std::string(i % 2 ? "cur/" : "new/") + std::to_string(i) + ".host:2,S", m.mail);
  }
  dir.file("reports.mbox", mbox);
  dir.file("Maildir/tmp/being-delivered", made(99).mail);  // never read: tmp/

  const Run r = run({"--json", dir.path("reports.mbox"), dir.path("Maildir")});
  CHECK(r.status == ReadReportsAllRead);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["reports"] == 40);
  CHECK(doc["duplicates"] == 0);
  CHECK(doc["skipped"] == 0);
  CHECK(doc["ignored"] == 6);  // the unrelated mails in the mbox
  CHECK(doc["totals"]["total-successful-session-count"] == successful);
  CHECK(doc["totals"]["total-failure-session-count"] == failed);
  REQUIRE(doc["groups"].size() == 1);
  CHECK(doc["groups"][0]["organization-name"] == "Org of sender.example");
  CHECK(doc["groups"][0]["date"] == "2026-11-29");
  CHECK(doc["groups"][0]["policies"].size() == 40);
  // Every ignored mail got exactly one line, and nothing else was said.
  std::size_t lines = 0;
  for (char c : r.err) lines += c == '\n';
  CHECK(lines == 6);
  CHECK(r.err.find(": mail 2 (line ") != std::string::npos);
  CHECK(r.err.find("ignored: no TLSRPT report in this mail (text/plain)") != std::string::npos);
}

TEST_CASE("damaged copies of our report mail are each skipped with their reason") {
  TempDir dir;
  const auto m = made(5);
  const std::string cut_gzip = base64Lines(m.gzip.substr(0, m.gzip.size() / 2));
  const std::string bad_json = base64Lines(*gzipCompress(m.json.substr(0, m.json.size() - 10)));
  std::string extra = m.json;
  extra.replace(extra.find("\"contact-info\""), 0, "\"x\": 1, ");
  std::string wrong_type = m.json;
  const auto count_at = wrong_type.find("\"total-successful-session-count\": ");
  REQUIRE(count_at != std::string::npos);
  wrong_type.insert(count_at + 34, "\"");
  wrong_type.insert(wrong_type.find(',', count_at + 35), "\"");
  std::string no_attachment = m.mail;
  const auto part = no_attachment.find("Content-Type: application/tlsrpt+gzip");
  REQUIRE(part != std::string::npos);
  no_attachment.replace(part, 37, "Content-Type: application/pdf       ");
  const std::string bomb = base64Lines(*gzipCompress("{" + std::string(17 * 1024 * 1024, ' ') + "}"));

  struct Case {
    std::string name;
    std::string mail;
    std::string line_end;  // what the one stderr line ends with
  };
  const std::vector<Case> cases = {
      {"truncated gzip", withAttachment(m, cut_gzip), "skipped: gzip: not a complete gzip stream (truncated)"},
      {"bad base64", withAttachment(m, "H4sI*AAA\r\n"), "skipped: invalid base64: byte \"*\" at byte 4"},
      {"broken JSON", withAttachment(m, bad_json), "skipped: invalid TLSRPT report: not valid JSON: parse error"},
      {"wrong type", withAttachment(m, base64Lines(*gzipCompress(wrong_type))),
       "skipped: invalid TLSRPT report: report.policies[0].summary.total-successful-session-count: must be an integer, is string"},
      {"a gzip bomb", withAttachment(m, bomb), "skipped: gzip expands past 16777216 bytes"},
      {"no attachment", no_attachment,
       "skipped: a TLSRPT report mail without a report attachment (multipart/report: text/plain, application/pdf)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string path = dir.file(c.name + ".eml", c.mail);
    const Run r = run({path});
    CHECK(r.status == ReadReportsNothingUsable);
    REQUIRE(!r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(r.err.find('\n') == r.err.size() - 1);  // exactly one line
    CHECK(r.err.starts_with(path + ": "));
    if (c.name == "broken JSON") {
      CHECK(r.err.find(c.line_end) != std::string::npos);
    } else {
      CHECK(r.err.substr(0, r.err.size() - 1).ends_with(c.line_end));
    }
    CHECK(r.out == "Read 0 reports; 1 input skipped, 0 ignored.\n");
  }
  SUBCASE("a member outside the RFC's list is fine in lenient mode") {
    const Run r = run({dir.file("extra-member.json", extra)});
    CHECK(r.status == ReadReportsAllRead);
  }
}

TEST_CASE("exit status: 0 all read, 1 some skipped, 2 nothing usable") {
  TempDir dir;
  const std::string good = dir.file("good.json.gz", made(1).gzip);
  const std::string bad = dir.file("bad.json", "{\"organization-name\": ");
  const std::string other = dir.file("notes.txt", "hello\n");
  CHECK(run({good}).status == 0);
  CHECK(run({good, other}).status == 0);  // unrelated files are ignored, not skipped
  CHECK(run({good, bad}).status == 1);
  CHECK(run({bad}).status == 2);
  CHECK(run({other}).status == 2);
  CHECK(run({dir.path("does-not-exist")}).status == 2);
  const Run missing = run({good, dir.path("does-not-exist")});
  CHECK(missing.status == 1);
  CHECK(missing.err == dir.path("does-not-exist") + ": skipped: cannot read: No such file or directory\n");
}

TEST_CASE("the same report twice counts once; the same report-id from another organization does not") {
  TempDir dir;
  const auto m = made(3);
  const std::string a = dir.file("a.eml", m.mail);
  const std::string b = dir.file("b/" + m.file_name, m.gzip);
  auto other = test::makeReport(3, Day, "other.example");
  REQUIRE(other.has_value());
  std::string same_id = other->json;
  const std::string other_id = other->report.report_id;
  same_id.replace(same_id.find(other_id), other_id.size(), m.report.report_id);
  const std::string c = dir.file("c.json", same_id);
  const Run r = run({a, b, c});
  CHECK(r.status == 0);
  CHECK(r.err == b + ": duplicate: report-id \"" + m.report.report_id +
                     "\" of \"Org of sender.example\" was read before: counted once\n");
  CHECK(r.out.find("Read 2 reports (1 duplicate counted once); 0 inputs skipped, 0 ignored.") != std::string::npos);
}

TEST_CASE("--since keeps reports whose range ends on or after 00:00 UTC DAYS days before now") {
  TempDir dir;
  dir.file("r/old.json.gz", made(1, UtcDay{Day.days - 5}).gzip);   // 2026-11-24
  dir.file("r/mid.json.gz", made(2, UtcDay{Day.days - 1}).gzip);   // 2026-11-28
  dir.file("r/new.json.gz", made(3, Day).gzip);                    // 2026-11-29
  const auto countFor = [&](const char* days) {
    const Run r = run({"--json", "--since", days, dir.path("r")});
    const auto doc = nlohmann::json::parse(r.out);
    return std::make_pair(doc["reports"].get<int>(), doc["before-since"].get<int>());
  };
  CHECK(countFor("0") == std::make_pair(0, 3));   // today (2026-12-01) only
  CHECK(countFor("2") == std::make_pair(1, 2));   // from 2026-11-29
  CHECK(countFor("3") == std::make_pair(2, 1));
  CHECK(countFor("7") == std::make_pair(3, 0));
  const Run text = run({"--since", "3", dir.path("r")});
  CHECK(text.status == 0);
  CHECK(text.out.starts_with("Reports whose date range ends on or after 2026-11-28T00:00:00Z.\n"));
  CHECK(text.out.ends_with("Read 2 reports (1 report before --since not shown); 0 inputs skipped, 0 ignored.\n"));
}

TEST_CASE("the command line after --read-reports") {
  struct Case {
    std::vector<std::string> args;
    bool ok;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"a"}, true, ""},
      {{"--json", "--since", "7", "a", "b"}, true, ""},
      {{"a", "--json"}, true, ""},
      {{"--", "--json"}, true, ""},
      {{}, false, "--read-reports needs at least one file or directory"},
      {{"--json"}, false, "--read-reports needs at least one file or directory"},
      {{"--since"}, false, "--since needs a number of days"},
      {{"--since", "x", "a"}, false, "--since \"x\": expected a number of days from 0 to 36500"},
      {{"--since", "-1", "a"}, false, "--since \"-1\": expected a number of days from 0 to 36500"},
      {{"--since", "36501", "a"}, false, "--since \"36501\": expected a number of days from 0 to 36500"},
      {{"--verbose", "a"}, false, "--read-reports: unknown option \"--verbose\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args.size());
    const auto got = parseReadReportsArguments(c.args, Now);
    REQUIRE(got.has_value() == c.ok);
    if (!c.ok) CHECK(got.error().detail.starts_with(c.error + "\nusage: mtastsd --read-reports"));
  }
  const auto options = *parseReadReportsArguments({"--json", "--since", "7", "--", "-x", "b"}, Now);
  CHECK(options.json);
  CHECK(options.since_days == 7u);
  CHECK(options.paths == std::vector<std::string>{"-x", "b"});
  CHECK(options.now == Now);
}

}  // namespace
}  // namespace mtasts::tlsrpt
