// The Runtime's lifecycle with probe components: the order of bind, start, reload, drain and
// flush, a drain that finishes later, and the exit codes of a failing bind or start. A real
// event loop, a temporary state_dir, and the signals the daemon handles raised in-process.
#include "daemon/component.hpp"
#include "daemon/config.hpp"
#include "daemon/cli.hpp"
#include "daemon/runtime.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::daemon;
using namespace std::chrono_literals;

namespace {

struct StateDir {
  std::string path;
  StateDir() {
    std::string templ = "/tmp/mtasts-runtime-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~StateDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

class Probe final : public Component {
 public:
  Probe(std::string name, std::vector<std::string>& journal) : name_(std::move(name)), journal_(journal) {}
  std::string_view name() const override { return name_; }
  Result<void> bind() override {
    journal_.push_back(name_ + ":bind");
    if (fail_bind) return fail(ErrorCode::Io, "no port");
    if (take) taken = take();
    return {};
  }
  Result<void> start() override {
    journal_.push_back(name_ + ":start");
    if (fail_start) return fail(ErrorCode::Io, "no store");
    if (on_start) on_start();
    return {};
  }
  void reload(const Settings& settings) override {
    journal_.push_back(name_ + ":reload:" + settings.process.log_level);
  }
  void drain(std::function<void()> done) override {
    journal_.push_back(name_ + ":drain");
    if (!drain_later) return done();
    // Finishes on a later loop turn, as a server with requests in flight does.
    pending_ = scheduler->schedule(1ms, [this, done] {
      journal_.push_back(name_ + ":drained");
      done();
      done();  // a second report counts once
    });
  }
  void flush() override { journal_.push_back(name_ + ":flush"); }

  bool fail_bind = false;
  bool fail_start = false;
  bool drain_later = false;
  Scheduler* scheduler = nullptr;
  std::function<void()> on_start;
  std::function<std::optional<net::UniqueFd>()> take;  // in bind(), like a component with a socket
  std::optional<net::UniqueFd> taken;

 private:
  std::string name_;
  std::vector<std::string>& journal_;
  RequestHandle pending_;
};

Settings testSettings(const std::string& state_dir) {
  Settings s = defaultSettings();
  s.store.state_dir = state_dir;
  s.dns.dns_servers = {"127.0.0.1:1"};  // never asked: no resolv.conf needed
  s.process.user.clear();
  return s;
}

RunOptions options(const Settings& reloaded) {
  RunOptions o;
  o.reload_settings = [reloaded](std::vector<std::string>&) -> Result<Settings> { return reloaded; };
  o.apply_log_level = [](const Settings&) {};
  o.privileges.action = PrivilegeAction::Stay;
  return o;
}

}  // namespace

TEST_CASE("the runtime binds and starts in order, reloads on SIGHUP, drains then flushes on SIGTERM") {
  StateDir dir;
  const Settings settings = testSettings(dir.path);
  auto made = Runtime::create(settings);
  REQUIRE(made.has_value());
  Runtime& rt = **made;
  std::vector<std::string> journal;
  auto& a = rt.add(std::make_unique<Probe>("a", journal));
  auto& b = rt.add(std::make_unique<Probe>("b", journal));
  b.drain_later = true;
  b.scheduler = &rt.scheduler();
  std::vector<RequestHandle> timers;
  a.on_start = [&] {
    CHECK(rt.env() != nullptr);  // the env is open before any start()
    timers.push_back(rt.scheduler().schedule(0ms, [] { ::raise(SIGHUP); }));
    timers.push_back(rt.scheduler().schedule(2ms, [] { ::raise(SIGTERM); }));
  };
  Settings reloaded = settings;
  reloaded.process.log_level = "debug";
  CHECK(rt.run(settings, options(reloaded)) == 0);
  CHECK(journal == std::vector<std::string>{"a:bind", "b:bind", "a:start", "b:start", "a:reload:debug",
                                            "b:reload:debug", "a:drain", "b:drain", "b:drained", "a:flush",
                                            "b:flush",
                                            // and once more after the loop ended
                                            "a:flush", "b:flush"});
}

TEST_CASE("a component that cannot bind or start stops the runtime with a clean exit code") {
  StateDir dir;
  for (bool at_bind : {true, false}) {
    CAPTURE(at_bind);
    auto made = Runtime::create(testSettings(dir.path));
    REQUIRE(made.has_value());
    std::vector<std::string> journal;
    auto& a = (*made)->add(std::make_unique<Probe>("a", journal));
    auto& b = (*made)->add(std::make_unique<Probe>("b", journal));
    (at_bind ? a.fail_bind : b.fail_start) = true;
    const int code = (*made)->run(testSettings(dir.path), options(testSettings(dir.path)));
    CHECK(code == (at_bind ? ExitOsError : ExitCantCreate));
    CHECK(journal == (at_bind ? std::vector<std::string>{"a:bind"}
                              : std::vector<std::string>{"a:bind", "b:bind", "a:start", "b:start"}));
  }
}

namespace {

// A unix socket in `dir` as systemd would pass it: bound (and listening for a stream).
InheritedSocket passedSocket(const std::string& path, int type, int number, const char* name) {
  net::UniqueFd fd(::socket(AF_UNIX, type, 0));
  REQUIRE(fd);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd.get(), 8) == 0);
  return describeSocket(std::move(fd), number, name);
}

// The NOTIFY_SOCKET side of sd_notify(3): a datagram socket the runtime reports to.
struct NotifyListener {
  explicit NotifyListener(const std::string& path) : fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifyListener() { ::unsetenv("NOTIFY_SOCKET"); }
  std::vector<std::string> messages() {
    std::vector<std::string> out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) out.emplace_back(buf, static_cast<std::size_t>(n));
    return out;
  }
  net::UniqueFd fd;
};

}  // namespace

TEST_CASE("a socket systemd passed goes to the component whose address it has, once, and is logged") {
  StateDir dir;
  auto made = Runtime::create(testSettings(dir.path));
  REQUIRE(made.has_value());
  Runtime& rt = **made;
  std::vector<std::string> journal;
  auto& a = rt.add(std::make_unique<Probe>("a", journal));
  auto& b = rt.add(std::make_unique<Probe>("b", journal));
  const std::string stream = dir.path + "/socketmap";
  const std::string dgram = dir.path + "/tlsrpt.sock";
  a.take = [&] { return rt.takeInheritedSocket(SocketKind::Stream, "unix:" + stream); };
  b.take = [&] {
    CHECK_FALSE(rt.takeInheritedSocket(SocketKind::Stream, "unix:" + stream).has_value());  // already taken
    return rt.takeInheritedSocket(SocketKind::Datagram, dgram);
  };
  std::vector<RequestHandle> timers;
  a.on_start = [&] { timers.push_back(rt.scheduler().schedule(0ms, [] { ::raise(SIGTERM); })); };
  RunOptions o = options(testSettings(dir.path));
  o.inherited.emplace();
  o.inherited->push_back(passedSocket(stream, SOCK_STREAM, 3, "socketmap"));
  o.inherited->push_back(passedSocket(dgram, SOCK_DGRAM, 4, "tlsrpt"));
  CHECK(rt.run(testSettings(dir.path), std::move(o)) == 0);
  REQUIRE(a.taken.has_value());
  REQUIRE(b.taken.has_value());
  CHECK(*a.taken);
  CHECK(*b.taken);
  CHECK(std::filesystem::exists(stream));  // never unlinked: systemd owns the path
}

TEST_CASE("a socket systemd passed that no component takes stops the daemon with exit 78") {
  StateDir dir;
  auto made = Runtime::create(testSettings(dir.path));
  REQUIRE(made.has_value());
  std::vector<std::string> journal;
  auto& a = (*made)->add(std::make_unique<Probe>("a", journal));
  a.take = [&] { return (*made)->takeInheritedSocket(SocketKind::Stream, "inet:127.0.0.1:8461"); };
  RunOptions o = options(testSettings(dir.path));
  o.inherited.emplace();
  o.inherited->push_back(passedSocket(dir.path + "/other", SOCK_STREAM, 3, "socketmap"));
  CHECK((*made)->run(testSettings(dir.path), std::move(o)) == ExitConfig);
  CHECK(journal == std::vector<std::string>{"a:bind"});  // nothing started
  CHECK_FALSE(a.taken.has_value());
}

TEST_CASE("systemd hears READY=1 once serving, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at SIGTERM") {
  StateDir dir;
  NotifyListener notify(dir.path + "/notify.sock");
  auto made = Runtime::create(testSettings(dir.path));
  REQUIRE(made.has_value());
  Runtime& rt = **made;
  std::vector<std::string> journal;
  auto& a = rt.add(std::make_unique<Probe>("a", journal));
  std::vector<std::string> before_ready;
  std::vector<RequestHandle> timers;
  a.on_start = [&] {
    before_ready = notify.messages();  // started, but the loop has not run yet
    timers.push_back(rt.scheduler().schedule(1ms, [] { ::raise(SIGHUP); }));
    timers.push_back(rt.scheduler().schedule(3ms, [] { ::raise(SIGTERM); }));
  };
  CHECK(rt.run(testSettings(dir.path), options(testSettings(dir.path))) == 0);
  CHECK(before_ready.empty());
  const auto messages = notify.messages();
  REQUIRE(messages.size() == 4);
  CHECK(messages[0].starts_with("READY=1\nSTATUS=serving"));
  CHECK(messages[1].starts_with("RELOADING=1\nMONOTONIC_USEC="));
  CHECK(messages[2].starts_with("READY=1\nSTATUS="));
  CHECK(messages[3].starts_with("STOPPING=1\n"));
}
