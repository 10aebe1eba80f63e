// Runs a function in a forked child (a second process on the same state_dir, as LMDB
// requires: one env per file per process) and returns its exit code, or -signal.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>

namespace mtasts::cache::test {

// The child must not touch the parent's env or run doctest assertions: it returns an exit
// code (0 = success) and leaves with _exit(), skipping the parent's destructors.
template <typename Fn>
int runInChild(Fn&& fn) {
  pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    int code = 98;
    try {
      code = fn();
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1001;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : -1002;
}

}  // namespace mtasts::cache::test
