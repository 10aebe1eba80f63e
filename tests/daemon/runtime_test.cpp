// The Runtime's lifecycle with probe components: the order of bind, start, reload, drain and
// flush, a drain that finishes later, and the exit codes of a failing bind or start. A real
// event loop, a temporary state_dir, and the signals the daemon handles raised in-process.
#include "daemon/component.hpp"
#include "daemon/config.hpp"
#include "daemon/cli.hpp"
#include "daemon/runtime.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
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
