#include "common/log.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <regex>
#include <string>

using namespace mtasts;

TEST_CASE("escapeForLog keeps printable ASCII and escapes the rest") {
  CHECK(escapeForLog("example.com") == "example.com");
  CHECK(escapeForLog("a\nb") == "a\\x0ab");
  CHECK(escapeForLog("q\"b\\") == "q\\\"b\\\\");
  CHECK(escapeForLog(std::string("\0\xff", 2)) == "\\x00\\xff");
  CHECK(escapeForLog("abcdef", 3) == "abc...");
}

TEST_CASE("setLogLevel accepts spdlog level names and refuses others") {
  CHECK(setLogLevel("debug"));
  CHECK(moduleLogger("test")->level() == spdlog::level::debug);
  CHECK(setLogLevel("off"));
  CHECK_FALSE(setLogLevel("loud"));
  CHECK(setLogLevel("info"));
  CHECK(moduleLogger("test")->level() == spdlog::level::info);
}

TEST_CASE("journal priority prefixes follow the syslog levels") {
  CHECK(journalPrefix(spdlog::level::trace) == "<7>");
  CHECK(journalPrefix(spdlog::level::debug) == "<7>");
  CHECK(journalPrefix(spdlog::level::info) == "<6>");
  CHECK(journalPrefix(spdlog::level::warn) == "<4>");
  CHECK(journalPrefix(spdlog::level::err) == "<3>");
  CHECK(journalPrefix(spdlog::level::critical) == "<2>");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its device and inode") {
  struct stat st {};
  REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  struct Case {
    const char* name;
    std::optional<std::string> value;
    bool journal;
  };
  const Case cases[] = {
      {"stderr's own", mine, true},
      {"unset", std::nullopt, false},
      {"another inode", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1), false},
      {"no colon", std::to_string(st.st_dev), false},
      {"trailing junk", mine + "x", false},
      {"empty", std::string(), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    if (c.value) {
      ::setenv("JOURNAL_STREAM", c.value->c_str(), 1);
    } else {
      ::unsetenv("JOURNAL_STREAM");
    }
    CHECK(stderrIsJournal() == c.journal);
  }
  ::unsetenv("JOURNAL_STREAM");
}

TEST_CASE("setLogTarget takes auto, stderr and syslog, and auto picks the journal style under systemd") {
  struct stat st {};
  REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  CHECK(setLogTarget("auto"));
  CHECK(currentLogTarget() == LogTarget::Journal);
  ::unsetenv("JOURNAL_STREAM");
  CHECK(setLogTarget("auto"));
  CHECK(currentLogTarget() == LogTarget::Stderr);
  CHECK(setLogTarget("syslog"));
  CHECK(currentLogTarget() == LogTarget::Syslog);
  CHECK_FALSE(setLogTarget("journald"));
  CHECK(currentLogTarget() == LogTarget::Syslog);  // unchanged
  CHECK(setLogTarget("stderr"));
  CHECK(currentLogTarget() == LogTarget::Stderr);
  CHECK(logTargetName(LogTarget::Journal) == "journal");
}

namespace {

// Runs `body` with fd 2 on a pipe (JOURNAL_STREAM naming that pipe when `as_journal`), with
// the target `target` in force; returns what reached the pipe.
std::string stderrOf(const char* target, bool as_journal, const std::function<void()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  REQUIRE(::dup2(fds[1], STDERR_FILENO) == STDERR_FILENO);
  ::close(fds[1]);
  struct stat st {};
  REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  if (as_journal) ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  const bool set = setLogTarget(target);
  body();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::unsetenv("JOURNAL_STREAM");
  setLogTarget("stderr");
  REQUIRE(set);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  return out;
}

}  // namespace

TEST_CASE("under systemd a line carries its priority and no time; on a terminal it carries the time") {
  const std::string journal = stderrOf("auto", true, [] {
    moduleLogger("logtest")->warn("disk full key={}", 1);
    moduleLogger("logtest")->info("started");
  });
  CHECK(journal == "<4>warning logtest: disk full key=1\n<6>info logtest: started\n");
  const std::string plain = stderrOf("auto", false, [] { moduleLogger("logtest")->error("boom"); });
  CAPTURE(plain);
  CHECK(std::regex_match(plain, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} error logtest: boom\n)")));
}
