#include "net/child_process.hpp"

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/callback_guard.hpp"
#include "net/timeval.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/fmt/fmt.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace mtasts::net {
namespace {

// Without a pidfd (a kernel before 5.3) the exit is polled at this interval.
constexpr std::chrono::milliseconds ExitPollInterval{20};
constexpr std::size_t ReadChunk = 4096;

std::string errnoText(const char* what, int err) { return fmt::format("{}: {}", what, std::strerror(err)); }

// Moves a descriptor to 3 or above, so that dup2 onto 0-2 in the child never hits one of
// its own sources (a daemon started with closed standard descriptors gets them from pipe()).
Result<UniqueFd> aboveStdio(int fd) {
  UniqueFd owned(fd);
  if (fd > 2) return owned;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return fail(ErrorCode::Io, errnoText("fcntl(F_DUPFD_CLOEXEC)", errno));
  return UniqueFd(moved);
}

bool setNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

int pidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// posix_spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  bool actions_ok = false;
  bool attr_ok = false;
  ~SpawnSetup() {
    if (actions_ok) posix_spawn_file_actions_destroy(&actions);
    if (attr_ok) posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

std::string ChildResult::describe() const {
  switch (outcome) {
    case ChildOutcome::Exited: return fmt::format("exit {}", exit_code);
    case ChildOutcome::Signaled: return fmt::format("killed by signal {}", signal);
    case ChildOutcome::TimedOut:
      return fmt::format("{} ({})", detail, signal == SIGKILL ? "SIGKILL" : signal == SIGTERM ? "SIGTERM"
                                                                                                : "exited");
    case ChildOutcome::SpawnFailed: return "spawn failed: " + detail;
  }
  return detail;
}

struct ChildProcessRunner::Job {
  ChildProcessRunner* runner = nullptr;
  pid_t pid = -1;
  UniqueFd in;     // our end of the child's stdin (a socket: send() with MSG_NOSIGNAL)
  UniqueFd out;    // our end of the child's stdout + stderr
  UniqueFd pidfd;  // readable once the child exited
  EventPtr in_event, out_event, exit_event, timeout_event, kill_event;
  std::string input;
  std::size_t input_pos = 0;
  std::size_t max_output = 0;
  std::chrono::milliseconds timeout{};
  std::chrono::milliseconds kill_grace{};
  bool timed_out = false;
  int kill_signal = 0;
  bool finished = false;
  ChildResult result;
  Callback done;

  // Spawn failure: reported from the loop, through the timeout event armed at 0.
  void failLater(std::string detail) {
    result.outcome = ChildOutcome::SpawnFailed;
    result.detail = std::move(detail);
    timeout_event.reset(evtimer_new(runner->base_, &Job::onSpawnFailed, this));
    if (!timeout_event) throw std::bad_alloc();
    const timeval now{0, 0};
    evtimer_add(timeout_event.get(), &now);
  }

  static void onSpawnFailed(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    job->finish();
  }

  void closeInput() {
    in_event.reset();
    in.reset();
  }

  static void onWritable(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    (void)callGuarded("child", "stdin write", [&] { job->writeInput(); });
  }

  void writeInput() {
    while (input_pos < input.size()) {
      const ssize_t n = ::send(in.get(), input.data() + input_pos, input.size() - input_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        input_pos += static_cast<std::size_t>(n);
        result.input_written = input_pos;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // wait for room
      break;  // EPIPE, ECONNRESET: the child stopped reading; it will tell through its exit
    }
    closeInput();  // all of it written, or the child is gone: EOF
  }

  static void onReadable(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    (void)callGuarded("child", "output read", [&] { job->readOutput(); });
  }

  // Reads what is there now; at EOF the event goes (the child may still run).
  void readOutput() {
    char buf[ReadChunk];
    for (;;) {
      const ssize_t n = ::read(out.get(), buf, sizeof buf);
      if (n > 0) {
        const std::size_t room = max_output - std::min(max_output, result.output.size());
        const std::size_t keep = std::min(room, static_cast<std::size_t>(n));
        result.output.append(buf, keep);
        if (keep < static_cast<std::size_t>(n)) result.output_truncated = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      out_event.reset();
      out.reset();
      return;
    }
  }

  static void onExit(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    (void)callGuarded("child", "exit", [&] { job->reap(); });
  }

  void reap() {
    int status = 0;
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == 0) return;  // not yet (the polling fallback)
    if (got < 0 && errno == EINTR) return;
    if (got < 0) {
      // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN); the status is lost.
      result.outcome = ChildOutcome::Exited;
      result.exit_code = -1;
      result.detail = errnoText("waitpid", errno);
    } else if (WIFEXITED(status)) {
      result.outcome = ChildOutcome::Exited;
      result.exit_code = WEXITSTATUS(status);
    } else {
      result.outcome = ChildOutcome::Signaled;
      result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    if (timed_out) {
      result.outcome = ChildOutcome::TimedOut;
      result.detail = fmt::format("timeout after {} ms", timeout.count());
      result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    pid = -1;
    if (out) readOutput();  // what it wrote before it exited is in the pipe already
    finish();
  }

  static void onTimeout(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    if (job->pid <= 0) return;
    job->timed_out = true;
    job->kill_signal = SIGTERM;
    ::kill(-job->pid, SIGTERM);
    const timeval grace = toTimeval(job->kill_grace);
    evtimer_add(job->kill_event.get(), &grace);
  }

  static void onKill(evutil_socket_t, short, void* arg) noexcept {
    auto* job = static_cast<Job*>(arg);
    if (job->pid <= 0) return;
    job->kill_signal = SIGKILL;
    ::kill(-job->pid, SIGKILL);
  }

  // Cancelled by the caller: the group is killed, the job stays until reaped, no callback.
  void cancel() noexcept {
    done = nullptr;
    if (pid > 0) ::kill(-pid, SIGKILL);
    closeInput();
  }

  void finish() {
    finished = true;
    in_event.reset();
    out_event.reset();
    exit_event.reset();
    timeout_event.reset();
    kill_event.reset();
    in.reset();
    out.reset();
    pidfd.reset();
    Callback cb = std::move(done);
    done = nullptr;
    ChildResult r = std::move(result);
    runner->finished(this);  // may destroy *this: touch nothing of it below
    if (cb) (void)callGuarded("child", "completion callback", [&] { cb(std::move(r)); });
  }
};

namespace {

class ChildHandle final : public PendingOperation {
 public:
  explicit ChildHandle(std::weak_ptr<ChildProcessRunner::Job> job) : job_(std::move(job)) {}
  ~ChildHandle() override { cancel(); }
  void cancel() noexcept override;

 private:
  std::weak_ptr<ChildProcessRunner::Job> job_;
};

}  // namespace

void ChildHandle::cancel() noexcept {
  if (auto job = job_.lock(); job && !job->finished) job->cancel();
  job_.reset();
}

ChildProcessRunner::ChildProcessRunner(event_base* base) : base_(base) {}

ChildProcessRunner::~ChildProcessRunner() {
  for (const auto& job : jobs_) {
    if (job->pid <= 0) continue;
    ::kill(-job->pid, SIGKILL);
    int status = 0;
    while (::waitpid(job->pid, &status, 0) < 0 && errno == EINTR) {
    }
    job->pid = -1;
  }
}

std::size_t ChildProcessRunner::running() const { return jobs_.size(); }

void ChildProcessRunner::finished(Job* job) {
  std::erase_if(jobs_, [job](const std::shared_ptr<Job>& j) { return j.get() == job; });
}

RequestHandle ChildProcessRunner::run(ChildCommand command, Callback done) {
  auto job = std::make_shared<Job>();
  job->runner = this;
  job->done = std::move(done);
  job->max_output = command.max_output;
  job->timeout = command.timeout;
  job->kill_grace = command.kill_grace;
  job->input = std::move(command.input);
  jobs_.push_back(job);
  auto handle = std::make_unique<ChildHandle>(job);

  if (command.argv.empty() || command.argv[0].empty() || command.argv[0][0] != '/') {
    job->failLater("argv[0] must be an absolute path");
    return handle;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    job->failLater(errnoText("socketpair", errno));
    return handle;
  }
  UniqueFd in_parent(sv[0]);
  auto in_child = aboveStdio(sv[1]);
  int op[2];
  if (::pipe2(op, O_CLOEXEC) != 0) {
    job->failLater(errnoText("pipe2", errno));
    return handle;
  }
  UniqueFd out_parent(op[0]);
  auto out_child = aboveStdio(op[1]);
  if (!in_child || !out_child) {
    job->failLater(!in_child ? in_child.error().detail : out_child.error().detail);
    return handle;
  }

  SpawnSetup setup;
  setup.actions_ok = posix_spawn_file_actions_init(&setup.actions) == 0;
  setup.attr_ok = posix_spawnattr_init(&setup.attr) == 0;
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  const bool ok = setup.actions_ok && setup.attr_ok &&
                  posix_spawn_file_actions_adddup2(&setup.actions, in_child->get(), 0) == 0 &&
                  posix_spawn_file_actions_adddup2(&setup.actions, out_child->get(), 1) == 0 &&
                  posix_spawn_file_actions_adddup2(&setup.actions, out_child->get(), 2) == 0 &&
                  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3) == 0 &&
                  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                            POSIX_SPAWN_SETPGROUP) == 0 &&
                  posix_spawnattr_setsigmask(&setup.attr, &empty) == 0 &&
                  posix_spawnattr_setsigdefault(&setup.attr, &defaults) == 0 &&
                  posix_spawnattr_setpgroup(&setup.attr, 0) == 0;
  if (!ok) {
    job->failLater("posix_spawn setup failed");
    return handle;
  }
  std::vector<char*> argv;
  for (auto& a : command.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : command.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data()); rc != 0) {
    job->failLater(errnoText(argv[0], rc));
    return handle;
  }
  job->pid = pid;
  in_child->reset();
  out_child->reset();
  setNonBlocking(in_parent.get());
  setNonBlocking(out_parent.get());
  job->in = std::move(in_parent);
  job->out = std::move(out_parent);

  event_base* base = base_;
  Job* raw = job.get();
  job->out_event.reset(event_new(base, job->out.get(), EV_READ | EV_PERSIST, &Job::onReadable, raw));
  job->timeout_event.reset(evtimer_new(base, &Job::onTimeout, raw));
  job->kill_event.reset(evtimer_new(base, &Job::onKill, raw));
  if (const int fd = pidfdOpen(pid); fd >= 0) {
    job->pidfd.reset(fd);
    job->exit_event.reset(event_new(base, fd, EV_READ | EV_PERSIST, &Job::onExit, raw));
  } else {
    job->exit_event.reset(event_new(base, -1, EV_PERSIST, &Job::onExit, raw));
  }
  if (!job->out_event || !job->timeout_event || !job->kill_event || !job->exit_event) throw std::bad_alloc();
  event_add(job->out_event.get(), nullptr);
  if (job->pidfd) {
    event_add(job->exit_event.get(), nullptr);
  } else {
    const timeval poll = toTimeval(ExitPollInterval);
    event_add(job->exit_event.get(), &poll);
  }
  const timeval limit = toTimeval(job->timeout);
  evtimer_add(job->timeout_event.get(), &limit);
  if (job->input.empty()) {
    job->closeInput();
  } else {
    job->in_event.reset(event_new(base, job->in.get(), EV_WRITE | EV_PERSIST, &Job::onWritable, raw));
    if (!job->in_event) throw std::bad_alloc();
    event_add(job->in_event.get(), nullptr);
  }
  return handle;
}

}  // namespace mtasts::net
