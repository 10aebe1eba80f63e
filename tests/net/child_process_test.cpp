// ChildProcessRunner with real children (/bin/sh, coreutils) on a real event_base: exit
// codes, signals, captured output and its bound, a large stdin, a child that stops reading,
// the time bound (SIGTERM, then SIGKILL for one that ignores it, the whole group), a clean
// environment, no leaked descriptors, an empty signal mask, and other children left alone.
#include "net/child_process.hpp"

#include "net/c_handles.hpp"
#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

namespace mtasts::net {
namespace {

using namespace std::chrono_literals;

struct Loop {
  EventBasePtr base{event_base_new()};
  ChildProcessRunner runner{base.get()};

  ChildResult run(ChildCommand command, std::chrono::milliseconds bound = 20s) {
    std::optional<ChildResult> got;
    auto handle = runner.run(std::move(command), [&](ChildResult r) { got = std::move(r); });
    CHECK_FALSE(got.has_value());  // never from inside run()
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, bound));
    return std::move(*got);
  }
};

ChildCommand shell(const std::string& script) {
  ChildCommand c;
  c.argv = {"/bin/sh", "-c", script};
  c.timeout = 10s;
  return c;
}

// State letter of /proc/<pid>/stat ('Z' zombie), or 0 when the process is gone.
char processState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

}  // namespace

TEST_CASE("a child's exit code is reported, also when it is not zero") {
  Loop loop;
  for (int code : {0, 1, 75, 255}) {
    CAPTURE(code);
    const auto r = loop.run(shell("exit " + std::to_string(code)));
    CHECK(r.outcome == ChildOutcome::Exited);
    CHECK(r.exit_code == code);
    CHECK(r.success() == (code == 0));
    CHECK(r.describe() == "exit " + std::to_string(code));
  }
}

TEST_CASE("a child killed by a signal is reported as signaled") {
  Loop loop;
  const auto r = loop.run(shell("kill -9 $$"));
  CHECK(r.outcome == ChildOutcome::Signaled);
  CHECK(r.signal == SIGKILL);
  CHECK_FALSE(r.success());
}

TEST_CASE("stdout and stderr are captured together") {
  Loop loop;
  const auto r = loop.run(shell("echo to-stdout; echo to-stderr >&2; exit 2"));
  CHECK(r.exit_code == 2);
  CHECK(r.output == "to-stdout\nto-stderr\n");
  CHECK_FALSE(r.output_truncated);
}

TEST_CASE("output past the bound is read and dropped, so the child never blocks on it") {
  Loop loop;
  ChildCommand c = shell("head -c 1000000 /dev/zero | tr '\\000' x >&2; echo done");
  c.max_output = 1000;
  const auto r = loop.run(c);
  CHECK(r.success());
  CHECK(r.output.size() == 1000);
  CHECK(r.output == std::string(1000, 'x'));
  CHECK(r.output_truncated);
}

TEST_CASE("a large stdin is written whole, without blocking the loop") {
  Loop loop;
  std::string input;
  for (std::size_t i = 0; input.size() < (5u << 20); ++i) input += static_cast<char>('a' + i % 26);
  ChildCommand count = shell("wc -c");
  count.input = input;
  const auto r = loop.run(std::move(count));
  CHECK(r.success());
  CHECK(r.input_written == input.size());
  CHECK(r.output == std::to_string(input.size()) + "\n");
  ChildCommand tail = shell("tail -c 8");
  tail.input = input;
  CHECK(loop.run(std::move(tail)).output == input.substr(input.size() - 8));
}

TEST_CASE("a child that stops reading stdin does not kill us with SIGPIPE") {
  // SIGPIPE at its default, as in the one-shot commands: a write() to the dead pipe would end
  // the test process.
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  Loop loop;
  ChildCommand c = shell("head -c 10 >/dev/null; exit 0");
  c.input = std::string(8u << 20, 'y');
  const auto r = loop.run(c);
  sigaction(SIGPIPE, &old, nullptr);
  CHECK(r.success());
  CHECK(r.input_written < c.input.size());
}

TEST_CASE("a child past its time bound gets SIGTERM") {
  Loop loop;
  ChildCommand c = shell("echo started; exec sleep 30");
  c.timeout = 300ms;
  c.kill_grace = 5s;
  const auto start = std::chrono::steady_clock::now();
  const auto r = loop.run(c);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(r.outcome == ChildOutcome::TimedOut);
  CHECK(r.signal == SIGTERM);
  CHECK(r.output == "started\n");
  CHECK(r.describe() == "timeout after 300 ms (SIGTERM)");
}

TEST_CASE("a child that ignores SIGTERM is killed after the grace, with its whole group") {
  Loop loop;
  // The background sleep is a grandchild in the same process group; it prints its pid.
  ChildCommand c = shell("trap '' TERM; sleep 30 & echo $!; wait; wait; sleep 30");
  c.timeout = 200ms;
  c.kill_grace = 300ms;
  const auto r = loop.run(c);
  CHECK(r.outcome == ChildOutcome::TimedOut);
  CHECK(r.signal == SIGKILL);
  CHECK(r.describe() == "timeout after 200 ms (SIGKILL)");
  const pid_t grandchild = static_cast<pid_t>(std::stol(r.output));
  // Killed with the group: gone, or a zombie waiting for its new parent to reap it.
  REQUIRE(test::runLoopUntil(loop.base.get(), [&] { const char s = processState(grandchild); return s == 0 || s == 'Z'; },
                             5s));
}

TEST_CASE("the child gets exactly the environment it is given") {
  Loop loop;
  ChildCommand c;
  c.argv = {"/usr/bin/env"};
  const auto r = loop.run(c);
  CHECK(r.output == "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
  c.env = {"A=1", "B=two words"};
  CHECK(loop.run(c).output == "A=1\nB=two words\n");
}

TEST_CASE("no descriptor of ours leaks into the child, close-on-exec or not") {
  const int plain = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  REQUIRE(plain >= 0);
  Loop loop;
  const auto r = loop.run(shell("ls -1 /proc/$$/fd"));  // no pipeline: its pipes would be the shell's fds
  ::close(plain);
  ::close(pair[0]);
  ::close(pair[1]);
  CHECK(r.output == "0\n1\n2\n");
}

TEST_CASE("the child starts with no blocked and no ignored signals") {
  sigset_t held;
  sigemptyset(&held);
  sigaddset(&held, SIGTERM);
  sigaddset(&held, SIGHUP);
  sigset_t old;
  ::pthread_sigmask(SIG_BLOCK, &held, &old);  // as main() holds them
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  struct sigaction old_pipe {};
  sigaction(SIGPIPE, &ign, &old_pipe);  // as the daemon ignores SIGPIPE
  Loop loop;
  const auto r = loop.run(shell("grep -E '^Sig(Blk|Ign)' /proc/self/status"));
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  // Signals 1-31 only: glibc keeps its internal real-time signals (32, 33) to itself.
  const auto mask = [&](const std::string& name) {
    const auto at = r.output.find(name + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(r.output.substr(at + name.size() + 2, 16), nullptr, 16) & 0x7fffffffULL;
  };
  CHECK(mask("SigBlk") == 0);
  CHECK(mask("SigIgn") == 0);
}

TEST_CASE("a command that cannot start is reported through the callback") {
  Loop loop;
  ChildCommand missing;
  missing.argv = {"/nonexistent/sendmail", "-i"};
  auto r = loop.run(missing);
  CHECK(r.outcome == ChildOutcome::SpawnFailed);
  CHECK(r.describe().find("No such file") != std::string::npos);
  ChildCommand relative;
  relative.argv = {"sh", "-c", "true"};
  r = loop.run(relative);
  CHECK(r.outcome == ChildOutcome::SpawnFailed);
  CHECK(r.detail == "argv[0] must be an absolute path");
  CHECK(loop.runner.running() == 0);
}

TEST_CASE("a cancelled child is killed and reaped, and its callback never runs") {
  Loop loop;
  bool called = false;
  auto handle = loop.runner.run(shell("exec sleep 30"), [&](ChildResult) { called = true; });
  CHECK(loop.runner.running() == 1);
  handle.reset();
  REQUIRE(test::runLoopUntil(loop.base.get(), [&] { return loop.runner.running() == 0; }, 5s));
  CHECK_FALSE(called);
}

TEST_CASE("children the runner did not start are never reaped by it") {
  pid_t other = -1;
  char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), const_cast<char*>("exit 7"), nullptr};
  REQUIRE(::posix_spawn(&other, "/bin/sh", nullptr, nullptr, argv, environ) == 0);
  Loop loop;
  (void)loop.run(shell("sleep 0.2"));
  int status = 0;
  REQUIRE(::waitpid(other, &status, 0) == other);  // still ours to reap
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("destroying the runner kills and reaps what still runs") {
  test::TempDir dir;
  const std::string pid_file = dir.path() + "/pid";
  pid_t pid = -1;
  {
    Loop loop;
    auto handle = loop.runner.run(shell("echo $$ > " + pid_file + ".tmp; mv " + pid_file + ".tmp " + pid_file +
                                        "; exec sleep 30"),
                                  [](ChildResult) {});
    REQUIRE(test::runLoopUntil(loop.base.get(), [&] { return std::ifstream(pid_file).good(); }, 5s));
    std::ifstream(pid_file) >> pid;
  }
  REQUIRE(pid > 0);
  CHECK(processState(pid) == 0);  // killed and reaped by the destructor: no zombie left
}

}  // namespace mtasts::net
