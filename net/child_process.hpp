// ChildProcessRunner: runs a short external command (the report mailer, sendmail(1)) from the
// event loop. posix_spawn with a clean environment, no PATH search, every descriptor but the
// three standard ones closed in the child (so no socketmap, datagram or LMDB descriptor leaks,
// whatever its close-on-exec flag), the signal mask emptied and every signal at its default
// (main() holds SIGTERM/INT/HUP, the daemon ignores SIGPIPE), its own process group. stdin is
// fed non-blocking from the loop, stdout and stderr are captured together up to a bound, the
// run is bounded in time (SIGTERM to the group, SIGKILL after a grace). The exit is noticed
// through a pidfd, not a SIGCHLD handler, so other children of the process are never reaped
// or disturbed here. Callbacks follow common/pending.hpp. Loop thread only.
#pragma once

#include "common/pending.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct event_base;

namespace mtasts::net {

struct ChildCommand {
  std::vector<std::string> argv;  // argv[0]: an absolute path (no PATH search)
  std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};  // the whole environment
  std::string input;              // written to stdin, which is then closed
  std::chrono::milliseconds timeout{60'000};    // from the spawn to the exit
  std::chrono::milliseconds kill_grace{5'000};  // after the SIGTERM of a timeout, SIGKILL
  std::size_t max_output = 4096;  // stdout + stderr bytes kept (the rest is read and dropped)
};

enum class ChildOutcome {
  Exited,       // exit_code is set
  Signaled,     // killed by `signal`, not by us
  TimedOut,     // we ended it (SIGTERM, then SIGKILL); `signal` is what ended it
  SpawnFailed,  // never ran: detail says why
};

struct ChildResult {
  ChildOutcome outcome = ChildOutcome::SpawnFailed;
  int exit_code = -1;
  int signal = 0;
  std::string output;  // stdout and stderr, interleaved as written, at most max_output bytes
  bool output_truncated = false;
  std::size_t input_written = 0;  // bytes of `input` the child took before stdin closed
  std::string detail;

  bool success() const { return outcome == ChildOutcome::Exited && exit_code == 0; }
  // "exit 0", "exit 75", "killed by signal 9", "timeout after 60000 ms (SIGTERM)",
  // "spawn failed: ...".
  std::string describe() const;
};

class ChildProcessRunner {
 public:
  using Callback = std::function<void(ChildResult)>;

  explicit ChildProcessRunner(event_base* base);
  // Kills (SIGKILL, whole group) and reaps every child still running; no callback runs.
  ~ChildProcessRunner();
  ChildProcessRunner(const ChildProcessRunner&) = delete;
  ChildProcessRunner& operator=(const ChildProcessRunner&) = delete;

  // Starts the command. A spawn failure is reported through `done` too (never from inside
  // run()). Destroying the handle before `done` ran kills the child's group (SIGKILL); it is
  // still reaped by the runner.
  RequestHandle run(ChildCommand command, Callback done);

  // Children started and not yet reaped (cancelled ones included).
  std::size_t running() const;

  struct Job;  // one child: its descriptors, events and timers (child_process.cpp)

 private:
  event_base* base_;
  std::vector<std::shared_ptr<Job>> jobs_;
  friend struct Job;
  void finished(Job* job);
};

}  // namespace mtasts::net
