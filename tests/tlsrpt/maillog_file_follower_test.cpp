// The file follower on a real temporary directory: complete lines, partial and over-long
// lines, rotation by rename + create, copytruncate with and without the copy, a file that
// appears late, and inotify wakeups. No sleeps: rotate_wait runs on the `now` passed in.
#include "tests/tlsrpt/maillog_file_support.hpp"
#include "tlsrpt/maillog_file_follower.hpp"

#include <doctest/doctest.h>

#include <poll.h>

#include <functional>
#include <utility>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;
using Lines = std::vector<std::string>;

namespace {

constexpr UnixSeconds T0 = 1'700'000'000;

MaillogFileOptions options(const std::string& path, std::size_t max_line = 16384, std::size_t read_size = 65536) {
  MaillogFileOptions o;
  o.path = path;
  o.max_line = max_line;
  o.read_size = read_size;
  o.rotate_wait = 10;
  o.use_inotify = false;
  return o;
}

// A follower started without a stored position on a file that exists (so: at its end).
void startAtEnd(MaillogFileFollower& f) { REQUIRE(f.start(std::monostate{}, T0)); }

}  // namespace

TEST_CASE("the follower hands over complete lines and keeps a partial last line until its newline") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "one\ntwo\nthr");
  CHECK(drain(f) == Lines{"one", "two"});
  CHECK(std::get<FilePosition>(f.position()).offset == 8);
  append(log, "ee\r\n");
  CHECK(drain(f) == Lines{"three\r"});  // the parser ignores the '\r'
  CHECK(std::get<FilePosition>(f.position()).offset == 15);
}

TEST_CASE("a line over the bound is skipped and counted, whatever the read size") {
  for (const std::size_t read_size : {1u, 3u, 7u, 64u, 4096u}) {
    CAPTURE(read_size);
    TempDir dir;
    const std::string log = dir.file("mail.log");
    append(log, "");
    MaillogFileFollower f(options(log, 10, read_size));
    startAtEnd(f);
    const std::string lines = "short\n" + std::string(11, 'x') + "\n" + std::string(10, 'y') + "\n" +
                              std::string(500, 'z') + "\nlast\n";
    append(log, lines.substr(0, 30));
    Lines got = drain(f);
    append(log, lines.substr(30));
    const Lines rest = drain(f);
    got.insert(got.end(), rest.begin(), rest.end());
    CHECK(got == Lines{"short", std::string(10, 'y'), "last"});
    CHECK(f.counters().overlong == 2);
    CHECK(std::get<FilePosition>(f.position()).offset == lines.size());
  }
}

TEST_CASE("a position taken right after an over-long line hashes the bytes before it") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log, 10, 4));
  startAtEnd(f);
  const std::string text = "a\n" + std::string(1000, 'q') + "\n";
  append(log, text);
  CHECK(drain(f) == Lines{"a"});
  const auto pos = std::get<FilePosition>(f.position());
  CHECK(pos.offset == text.size());
  const std::string_view tail = std::string_view(text).substr(text.size() - FilePosition::TailBytes);
  CHECK(pos.tail_hash == tailHash(tail));
  CHECK(pos.head_hash == tailHash(std::string_view(text).substr(0, FilePosition::TailBytes)));
}

TEST_CASE("a file that does not exist yet is waited for and read from its start") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  CHECK(drain(f).empty());
  CHECK(std::holds_alternative<std::monostate>(f.position()));
  append(log, "first\nsecond\n");
  CHECK(drain(f) == Lines{"first", "second"});
}

TEST_CASE("without a stored position the follower starts at the end, at the start of a partial line") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "old one\nold two\nbeing writ");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  CHECK(drain(f).empty());
  append(log, "ten\nnew\n");
  CHECK(drain(f) == Lines{"being written", "new"});
}

TEST_CASE("rotation by rename and create: the old file is finished, then the new one from its start") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "a\n");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "b\n");
  CHECK(drain(f) == Lines{"b"});
  append(log, "c\n");
  renameFile(log, dir.file("mail.log.1"));
  append(dir.file("mail.log.1"), "d\n");  // the writer has not reopened yet
  append(log, "e\n");                     // now it has
  CHECK(drain(f) == Lines{"c", "d", "e"});
  CHECK(f.counters().rotations == 1);
  CHECK(f.currentPath() == log);
  append(dir.file("mail.log.1"), "late\n");  // after the switch: not read (the writer moved)
  append(log, "f\n");
  CHECK(drain(f) == Lines{"f"});
}

TEST_CASE("after a rename the old file is read while the new one is empty, for at most rotate_wait") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  const std::string old = dir.file("mail.log.1");
  append(log, "");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "a\n");
  renameFile(log, old);
  CHECK(drain(f, T0) == Lines{"a"});
  CHECK(f.finishing());
  append(log, "");  // created empty (logrotate's "create"), the writer still on the old file
  append(old, "b\n");
  CHECK(drain(f, T0 + 9) == Lines{"b"});
  CHECK(f.finishing());
  CHECK(drain(f, T0 + 10).empty());  // rotate_wait passed: on to the new file
  CHECK_FALSE(f.finishing());
  append(old, "lost\n");
  append(log, "c\n");
  CHECK(drain(f, T0 + 11) == Lines{"c"});
}

TEST_CASE("copytruncate with the copy beside the file: the lines not read yet come from the copy") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "a\nb\n");
  CHECK(drain(f) == Lines{"a", "b"});
  append(log, "c\nd\npart");
  copyTruncate(log, dir.file("mail.log.1"));
  append(log, "e\n");
  CHECK(drain(f) == Lines{"c", "d", "e"});
  CHECK(f.counters().truncations == 1);
  CHECK(f.counters().copies_read == 1);
  CHECK(f.counters().partial_dropped == 1);
  CHECK(f.counters().lost_gaps == 0);
}

TEST_CASE("copytruncate without a copy: the file from 0, the lines written since the last read are lost") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "a\n");
  CHECK(drain(f) == Lines{"a"});
  append(log, "gone\n");
  REQUIRE(::truncate(log.c_str(), 0) == 0);
  append(log, "e\n");
  CHECK(drain(f) == Lines{"e"});
  CHECK(f.counters().truncations == 1);
  CHECK(f.counters().lost_gaps == 1);
}

TEST_CASE("a truncation followed by more bytes than were read is seen by the content check") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log));
  startAtEnd(f);
  append(log, "short\n");
  CHECK(drain(f) == Lines{"short"});
  REQUIRE(::truncate(log.c_str(), 0) == 0);
  append(log, "a much longer first line\nsecond\n");
  CHECK(drain(f) == Lines{"a much longer first line", "second"});
  CHECK(f.counters().truncations == 1);
}

// A visitor that runs `act` once, on the line `at`: what a writer does while the follower is
// inside one read() call (a loaded machine can deschedule the follower for that long).
class ActingVisitor final : public MaillogVisitor {
 public:
  ActingVisitor(std::string at, std::function<void()> act) : at_(std::move(at)), act_(std::move(act)) {}
  std::vector<std::string> lines;
  bool line(std::string_view l) override {
    lines.emplace_back(l);
    if (l == at_ && act_) std::exchange(act_, nullptr)();
    return true;
  }
  bool message(std::string_view, std::uint32_t, std::string_view, UnixSeconds) override { return true; }

 private:
  std::string at_;
  std::function<void()> act_;
};

TEST_CASE("a copytruncate and new lines past the offset in the middle of one read are seen, nothing lost") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileFollower f(options(log, 16384, 4));  // 4-byte reads: many per read() call
  startAtEnd(f);
  append(log, "a1\na2\na3\n");
  ActingVisitor v("a2", [&] {
    copyTruncate(log, dir.file("mail.log.1"));
    append(log, "b1 longer than what was read\nb2\n");
  });
  while (f.read(v, 1000, T0) != ReadOutcome::Idle) {
  }
  CHECK(v.lines == Lines{"a1", "a2", "a3", "b1 longer than what was read", "b2"});
  CHECK(f.counters().truncations == 1);
  CHECK(f.counters().copies_read == 1);
  CHECK(f.counters().lost_gaps == 0);
}

TEST_CASE("inotify wakes the follower on an append and on a rename") {
  TempDir dir;
  const std::string log = dir.file("mail.log");
  append(log, "");
  MaillogFileOptions o = options(log);
  o.use_inotify = true;
  MaillogFileFollower f(o);
  startAtEnd(f);
  REQUIRE(f.waitFd() >= 0);
  const auto readable = [&] {
    pollfd p{f.waitFd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  };
  f.clearWakeup();
  CHECK_FALSE(readable());
  append(log, "x\n");
  CHECK(readable());
  f.clearWakeup();
  CHECK_FALSE(readable());
  CHECK(drain(f) == Lines{"x"});
  renameFile(log, dir.file("mail.log.1"));
  CHECK(readable());
  f.clearWakeup();
  append(log, "y\n");  // IN_CREATE in the directory
  CHECK(readable());
  f.clearWakeup();
  CHECK(drain(f) == Lines{"y"});
  append(log, "z\n");  // the watch follows the new file
  CHECK(readable());
}
