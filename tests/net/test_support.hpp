// Test support for the net/ tests: a child process (a Python test server from this folder)
// that is killed when the test ends, and a bounded run of the event loop. Everything here
// has a hard timeout so that a broken server or client fails the test instead of hanging.
#pragma once

#include <event2/event.h>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mtasts::net::test {

class ChildProcess {
 public:
  // Starts argv[0] with a pipe on stdin (closed on destruction: the scripts exit on EOF)
  // and reads "key value" lines from its stdout until a line "ready" or the timeout.
  ChildProcess(const std::vector<std::string>& argv, std::chrono::milliseconds ready_timeout);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool ready() const { return ready_; }
  std::string value(const std::string& key) const;
  int port(const std::string& key) const;

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool ready_ = false;
  std::map<std::string, std::string> values_;
};

// Runs the loop until done() or the timeout; returns done().
bool runLoopUntil(event_base* base, const std::function<bool()>& done,
                  std::chrono::milliseconds timeout);

// Directory holding the helper scripts (tests/net).
std::string scriptDir();

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mtasts::net::test
