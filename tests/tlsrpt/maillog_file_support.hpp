// Helpers for the mail-log source tests: a temporary directory (removed at the end), file
// writes the way a syslog daemon and logrotate do them, and a visitor that collects what a
// source hands over.
#pragma once

#include "tests/tlsrpt/temp_dir.hpp"

#include "tlsrpt/maillog_source.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt::test {

// Appends with O_APPEND, as syslog daemons and postlogd write.
inline void append(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

inline std::string slurp(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// logrotate's copytruncate: copy the file, then truncate it in place.
inline void copyTruncate(const std::string& path, const std::string& copy) {
  std::filesystem::copy_file(path, copy, std::filesystem::copy_options::overwrite_existing);
  REQUIRE(::truncate(path.c_str(), 0) == 0);
}

inline void renameFile(const std::string& from, const std::string& to) {
  REQUIRE(::rename(from.c_str(), to.c_str()) == 0);
}

class CollectingVisitor final : public MaillogVisitor {
 public:
  std::vector<std::string> lines;
  std::size_t stop_after = 0;  // stop after this many lines (0: never)

  bool line(std::string_view l) override {
    lines.emplace_back(l);
    return stop_after == 0 || lines.size() % stop_after != 0;
  }
  bool message(std::string_view, std::uint32_t, std::string_view m, UnixSeconds) override {
    lines.emplace_back(m);
    return stop_after == 0 || lines.size() % stop_after != 0;
  }
};

// Reads until the source is idle (bounded: a source that never idles fails the test).
inline std::vector<std::string> drain(MaillogSource& source, UnixSeconds now = 1'700'000'000) {
  CollectingVisitor v;
  for (int i = 0; i < 10000; ++i) {
    if (source.read(v, 1000, now) == ReadOutcome::Idle) return v.lines;
  }
  FAIL("the source never became idle");
  return v.lines;
}

}  // namespace mtasts::tlsrpt::test
