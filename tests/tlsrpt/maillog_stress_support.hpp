// Helpers for the mail-log stress tests: a stream of real fixture lines made unique (an id in
// the syslog host field, or per-copy pids and queue ids so that sessions can be told apart),
// a writer process that appends it line by line (some lines in two writes) with a rotation in
// the middle, and the small LMDB test store a consumer commits ids and positions to.
#pragma once

#include "cache/lmdb_env.hpp"
#include "tests/tlsrpt/maillog_file_support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace mtasts::tlsrpt::test {

enum class Rotation { None, Rename, CopyTruncate };

// `count` lines cycled from the four fixture logs. with_ids: the host field becomes "h<n>"
// (n = line number), for tests that check lines; else every copy of the fixtures gets its own
// queue ids (so sessions are unique) and pids, and the host stays, as correlation needs.
inline std::vector<std::string> stressLines(std::size_t count, bool with_ids) {
  std::vector<std::string> fixture;
  for (const char* name : {"postfix-3.7-e2e.log", "postfix-3.7-capture.log", "postfix-3.7-tlsproxy.log",
                           "postfix-3.7-relayhost.log"}) {
    const std::string text = slurp(std::string(MTASTS_MAILLOG_FIXTURES) + "/" + name);
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      fixture.emplace_back(rest.substr(0, nl));
      rest.remove_prefix(nl + 1);
    }
  }
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string line = fixture[i % fixture.size()];
    const std::size_t copy = i / fixture.size();
    if (with_ids) {
      line.replace(line.find(" sender "), 8, " h" + std::to_string(i) + " ");
    } else {
      // 64 pid ranges, as a day of smtp(8) processes reuses pids (and the correlator's
      // process table stays far from its bound).
      const auto open = line.find('[');
      const unsigned long pid = std::stoul(line.substr(open + 1, line.find("]: ", open) - open - 1));
      line.replace(open + 1, line.find("]: ", open) - open - 1, std::to_string(pid + copy % 64 * 100000));
      const auto close = line.find("]: ", open);
      const auto qid_end = line.find(": ", close + 3);
      const std::string_view maybe_qid = std::string_view(line).substr(close + 3, qid_end - close - 3);
      if (qid_end != std::string::npos && maybe_qid.size() == 11 && maybe_qid.find(' ') == std::string_view::npos) {
        line.insert(qid_end, "Z" + std::to_string(copy));
      }
    }
    out.push_back(line + "\n");
  }
  return out;
}

// The id of a line made by stressLines(with_ids = true); -1 if it has none.
inline long lineId(std::string_view line) {
  const auto at = line.find(" h");
  if (at == std::string_view::npos) return -1;
  long id = 0;
  std::size_t i = at + 2;
  if (i >= line.size() || line[i] < '0' || line[i] > '9') return -1;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) id = id * 10 + (line[i] - '0');
  return id;
}

// Appends `lines` to `path` as a syslog daemon would (O_APPEND), every third line in two
// writes, pausing briefly every `burst` lines so that the reader runs alongside. At line
// `rotate_at`: Rename = rename to <path>.1, 100 more lines through the old descriptor (the
// daemon has not reopened yet), then a new file; CopyTruncate = copy to <path>.1 and
// truncate with the writer paused (so that copytruncate itself loses nothing). With a
// `rotate_gate` path, the writer rotates only once that file exists (at most 60 s later):
// the test creates it when the reader has read something, because a reader that has read
// nothing has no head to compare and cannot tell a truncated file from a new one. Creates
// <path>.done at the end. Runs in a forked child: returns its pid.
inline pid_t startWriter(const std::string& path, const std::vector<std::string>& lines, Rotation rotation,
                         std::size_t rotate_at, std::size_t burst = 200, const std::string& rotate_gate = {}) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid != 0) return pid;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) ::_exit(2);
  std::size_t old_fd_lines = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i == rotate_at && !rotate_gate.empty()) {
      for (int waited_ms = 0; ::access(rotate_gate.c_str(), F_OK) != 0; ++waited_ms) {
        if (waited_ms == 60000) ::_exit(8);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    if (i == rotate_at && rotation == Rotation::Rename) {
      if (::rename(path.c_str(), (path + ".1").c_str()) != 0) ::_exit(3);
      old_fd_lines = 100;
    } else if (i == rotate_at && rotation == Rotation::CopyTruncate) {
      std::error_code ec;
      std::filesystem::copy_file(path, path + ".1", std::filesystem::copy_options::overwrite_existing, ec);
      if (ec || ::truncate(path.c_str(), 0) != 0) ::_exit(4);
    }
    if (old_fd_lines > 0 && --old_fd_lines == 0) {
      ::close(fd);
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) ::_exit(5);
    }
    const std::string& l = lines[i];
    const std::size_t first = i % 3 == 0 ? l.size() / 2 : l.size();
    if (::write(fd, l.data(), first) != static_cast<ssize_t>(first)) ::_exit(6);
    if (first < l.size() && ::write(fd, l.data() + first, l.size() - first) != static_cast<ssize_t>(l.size() - first)) {
      ::_exit(6);
    }
    if (burst != 0 && i % burst == burst - 1) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::close(fd);
  const int done = ::open((path + ".done").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ::_exit(done >= 0 ? 0 : 7);
}

// waitpid with the exit code, or -signal.
inline int waitChild(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1000;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : -1001;
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The consumers' store: "p" = the encoded position, "i<id>" / "s<key>" = how often counted.
inline const cache::StoreSpec StressStore{"maillog_stress", 1, {}};

// Adds one to the count under `key` inside `txn`.
inline Result<void> bump(cache::WriteTxn& txn, MDB_dbi dbi, const std::string& key) {
  std::string_view old;
  auto got = txn.get(dbi, key, old);
  if (!got) return fail(got.error().code, got.error().detail);
  const long n = *got ? std::stol(std::string(old)) : 0;
  return txn.put(dbi, key, std::to_string(n + 1));
}

}  // namespace mtasts::tlsrpt::test
