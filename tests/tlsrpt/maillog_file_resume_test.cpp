// Restarting the file follower from a stored position, in every state the file can be found
// in after the daemon was away: unchanged, grown, rotated by rename (once, or twice so that
// the old file is gone), copytruncated (copy present or not), truncated and regrown, changed in
// place, missing. Each case: which lines the new follower reads, and never one read before.
#include "tests/tlsrpt/maillog_file_support.hpp"
#include "tlsrpt/maillog_file_follower.hpp"

#include <doctest/doctest.h>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;
using Lines = std::vector<std::string>;

namespace {

constexpr UnixSeconds T0 = 1'700'000'000;

MaillogFileOptions options(const std::string& path) {
  MaillogFileOptions o;
  o.path = path;
  o.use_inotify = false;
  return o;
}

// Runs a follower from `stored` (none: from the end) over what is there, returns its lines
// and its position after them (through the codec, as the store keeps it).
Lines runFrom(const std::string& path, const MaillogPosition& stored, MaillogPosition* after = nullptr,
              MaillogSourceCounters* counters = nullptr) {
  MaillogFileFollower f(options(path));
  REQUIRE(f.start(stored, T0));
  Lines lines = drain(f, T0 + 100);
  if (after != nullptr) {
    auto decoded = decodeMaillogPosition(encodeMaillogPosition(f.position()));
    REQUIRE(decoded);
    *after = *decoded;
  }
  if (counters != nullptr) *counters = f.counters();
  return lines;
}

std::string numbered(const char* prefix, int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += std::string(prefix) + " line " + std::to_string(i) + " of a log\n";
  return s;
}

}  // namespace

TEST_CASE("a restart resumes exactly after the last line read, in every state the file is found in") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  const std::string rotated = dir.file("mail.log.1");
  // Before the restart: the follower read 40 lines (more than TailBytes, so head and tail
  // hash different bytes) and stored its position.
  append(log, numbered("old", 0, 30));
  MaillogPosition stored;
  {
    MaillogFileFollower f(options(log));
    REQUIRE(f.start(std::monostate{}, T0));
    append(log, numbered("read", 0, 40) + "partial, not read");
    CHECK(drain(f).size() == 40);
    stored = f.position();
  }
  MaillogSourceCounters counters;

  SUBCASE("unchanged but grown: the rest of the file, starting with the completed partial line") {
    append(log, " yet\nnew\n");
    CHECK(runFrom(log, stored, nullptr, &counters) == Lines{"partial, not read yet", "new"});
    CHECK(counters.lost_gaps == 0);
  }
  SUBCASE("renamed by rotation, a new file created: the rest of the old one, then the new one") {
    append(log, "\nunread\n");
    renameFile(log, rotated);
    append(log, "fresh\n");
    CHECK(runFrom(log, stored, nullptr, &counters) == Lines{"partial, not read", "unread", "fresh"});
    CHECK(counters.lost_gaps == 0);
  }
  SUBCASE("renamed by rotation, no new file yet: the rest of the old one, then the new one once created") {
    append(log, "\n");
    renameFile(log, rotated);
    MaillogFileFollower f(options(log));
    REQUIRE(f.start(stored, T0));
    CHECK(drain(f, T0) == Lines{"partial, not read"});
    append(log, "fresh\n");
    CHECK(drain(f, T0) == Lines{"fresh"});
  }
  SUBCASE("rotated twice (the old file compressed away): the new file from its start, the gap counted") {
    renameFile(log, dir.file("mail.log.2.gz"));
    append(log, "fresh\n");
    CHECK(runFrom(log, stored, nullptr, &counters) == Lines{"fresh"});
    CHECK(counters.lost_gaps == 1);
  }
  SUBCASE("copytruncate with the copy present: the rest of the copy, then the file from its start") {
    append(log, "\nunread\n");
    copyTruncate(log, rotated);
    append(log, "fresh\n");
    CHECK(runFrom(log, stored, nullptr, &counters) == Lines{"partial, not read", "unread", "fresh"});
    CHECK(counters.lost_gaps == 0);
  }
  SUBCASE("copytruncate, the copy gone: the file from its start, the gap counted") {
    REQUIRE(::truncate(log.c_str(), 0) == 0);
    append(log, "fresh\n");
    CHECK(runFrom(log, stored, nullptr, &counters) == Lines{"fresh"});
    CHECK(counters.lost_gaps == 1);
  }
  SUBCASE("truncated and regrown past the offset with other lines: from its start") {
    REQUIRE(::truncate(log.c_str(), 0) == 0);
    append(log, numbered("regrown", 0, 100));
    CHECK(runFrom(log, stored).size() == 100);
  }
  SUBCASE("changed in place (same first bytes, other bytes at the offset): from the end, nothing twice") {
    std::string text = slurp(log);
    text.replace(text.find("read line 39"), 4, "READ");
    REQUIRE(::truncate(log.c_str(), 0) == 0);
    append(log, text + " yet\n");
    CHECK(runFrom(log, stored).empty());
  }
  SUBCASE("the file replaced by a copy of itself (another inode, same bytes): on from the offset") {
    const std::string text = slurp(log);
    REQUIRE(::unlink(log.c_str()) == 0);
    append(dir.file("mail.log.tmp"), text + " yet\n");
    renameFile(dir.file("mail.log.tmp"), log);
    CHECK(runFrom(log, stored) == Lines{"partial, not read yet"});
  }
  SUBCASE("the file gone and not recreated: nothing now, the new file from its start once it appears") {
    REQUIRE(::unlink(log.c_str()) == 0);
    MaillogFileFollower f(options(log));
    REQUIRE(f.start(stored, T0));
    CHECK(drain(f, T0).empty());
    CHECK(f.position() == stored);  // still where it was, until something is read
    append(log, "fresh\n");
    CHECK(drain(f, T0) == Lines{"fresh"});
  }
  SUBCASE("a second restart from the position the first one stored reads nothing twice") {
    append(log, " yet\n");
    MaillogPosition after;
    CHECK(runFrom(log, stored, &after) == Lines{"partial, not read yet"});
    CHECK(runFrom(log, after).empty());
    append(log, "next\n");
    CHECK(runFrom(log, after) == Lines{"next"});
  }
}

TEST_CASE("a position at offset 0 of a file rotated away resumes in that file, not in an older one") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(dir.file("mail.log.2"), "much older\n");
  append(log, "");
  MaillogPosition stored;
  {
    MaillogFileFollower f(options(log));
    REQUIRE(f.start(std::monostate{}, T0));
    CHECK(drain(f).empty());
    stored = f.position();
  }
  REQUIRE(std::get<FilePosition>(stored).offset == 0);
  append(log, "x\n");
  renameFile(log, dir.file("mail.log.1"));
  append(log, "y\n");
  CHECK(runFrom(log, stored) == Lines{"x", "y"});
}

TEST_CASE("a follower that finished a rotated file resumes at the new file's start after a restart") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogPosition stored;
  {
    MaillogFileFollower f(options(log));
    REQUIRE(f.start(std::monostate{}, T0));
    append(log, "a\n");
    renameFile(log, dir.file("mail.log.1"));
    append(log, "b\n");
    CHECK(drain(f) == Lines{"a", "b"});
    stored = f.position();
  }
  append(log, "c\n");
  CHECK(runFrom(log, stored) == Lines{"c"});
}
