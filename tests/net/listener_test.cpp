// net/listener, net/unix_socket_file and the plumbing beside them (UniqueFd, the callback guard,
// toTimeval): a real event_base and loopback sockets, the loop run in bounded steps.
#include "net/callback_guard.hpp"
#include "net/listener.hpp"
#include "net/timeval.hpp"
#include "net/unix_socket_file.hpp"

#include "tests/fakes/log_capture.hpp"
#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;

namespace {

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

UniqueFd connectTo(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  return fd;
}

// Whether the peer closed: a recv that returns 0 (EOF) within the bound.
bool peerClosed(int fd, event_base* base) {
  return test::runLoopUntil(base, [&] {
    char c = 0;
    return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
  }, 2000ms);
}

std::unique_ptr<Listener> openLoopback(event_base* base, Listener::AcceptFn on_accept) {
  auto address = parseListenAddress("inet:127.0.0.1:0");
  REQUIRE(address.has_value());
  auto listener = Listener::open(base, *address, {}, std::move(on_accept));
  REQUIRE(listener.has_value());
  return std::move(*listener);
}

}  // namespace

TEST_CASE("UniqueFd closes its descriptor once and hands it over on move") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    CHECK_FALSE(a);
    CHECK(b.get() == fds[0]);
    CHECK(isOpen(fds[0]));
    const int raw = b.release();
    CHECK_FALSE(b);
    b.reset(raw);
  }
  CHECK_FALSE(isOpen(fds[0]));
}

TEST_CASE("a listener hands each accepted socket to its callback, which owns it") {
  EventBasePtr base(event_base_new());
  std::optional<UniqueFd> accepted;
  std::string peer;
  auto listener = openLoopback(base.get(), [&](UniqueFd fd, std::string p) {
    accepted = std::move(fd);
    peer = std::move(p);
  });
  CHECK(listener->boundName().starts_with("127.0.0.1:"));
  UniqueFd client = connectTo(listener->boundPort());
  REQUIRE(test::runLoopUntil(base.get(), [&] { return accepted.has_value(); }, 2000ms));
  CHECK(peer.starts_with("127.0.0.1:"));
  CHECK(isOpen(accepted->get()));
}

TEST_CASE("an adopted socket keeps its file, mode and backlog, turns non-blocking and is served") {
  EventBasePtr base(event_base_new());
  test::TempDir dir;
  const std::string path = dir.path() + "/inherited.sock";
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE(::listen(fd.get(), 4) == 0);
  CHECK(localListenAddress(fd.get()) == "unix:" + path);
  std::optional<UniqueFd> accepted;
  const int raw = fd.get();
  CHECK((::fcntl(raw, F_GETFL) & O_NONBLOCK) == 0);  // as systemd passes it
  {
    auto listener = Listener::adopt(base.get(), std::move(fd), [&](UniqueFd c, std::string) { accepted = std::move(c); });
    REQUIRE(listener.has_value());
    CHECK((::fcntl(raw, F_GETFL) & O_NONBLOCK) != 0);  // a blocking accept() would stall the loop
    CHECK((*listener)->boundName() == "unix:" + path);
    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM, 0));
    REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(test::runLoopUntil(base.get(), [&] { return accepted.has_value(); }, 2000ms));
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);  // the owner (systemd) removes it, not the listener
  CHECK((st.st_mode & 07777) == 0640);
}

TEST_CASE("localListenAddress names inet sockets in the listen syntax") {
  EventBasePtr base(event_base_new());
  auto listener = openLoopback(base.get(), nullptr);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  CHECK(localListenAddress(fd.get()).starts_with("inet:127.0.0.1:"));
  CHECK(localListenAddress(-1).empty());
}

// The [6] review: the listener closed the fd after a throwing callback even when the
// callback had already taken it, so the descriptor was closed twice (or a reused one closed).
TEST_CASE("a throwing accept callback never makes the listener close a socket it took") {
  EventBasePtr base(event_base_new());
  testing::LogCapture log("server");
  int kept = -1;
  auto listener = openLoopback(base.get(), [&](UniqueFd fd, std::string) {
    kept = fd.release();  // the callee keeps it itself, then fails
    throw std::runtime_error("setup failed");
  });
  UniqueFd client = connectTo(listener->boundPort());
  REQUIRE(test::runLoopUntil(base.get(), [&] { return kept >= 0; }, 2000ms));
  CHECK(isOpen(kept));  // not closed behind the owner's back
  CHECK(log.matching(spdlog::level::err, {"accept: internal error", "setup failed"}).size() == 1);
  ::close(kept);
}

TEST_CASE("a socket is closed exactly once when the accept callback throws with it") {
  EventBasePtr base(event_base_new());
  int seen = -1;
  auto listener = openLoopback(base.get(), [&](UniqueFd fd, std::string) {
    seen = fd.get();
    throw std::runtime_error("no memory");
  });
  UniqueFd client = connectTo(listener->boundPort());
  REQUIRE(test::runLoopUntil(base.get(), [&] { return seen >= 0; }, 2000ms));
  CHECK_FALSE(isOpen(seen));
  CHECK(peerClosed(client.get(), base.get()));
}

TEST_CASE("removeStaleSocket removes a dead socket file and refuses a live one or a plain file") {
  test::TempDir dir;
  const std::string path = dir.path() + "/s.sock";
  {  // bound, never listened on, closed: what a crash leaves behind
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  }
  CHECK(removeStaleSocketFile(path, SOCK_STREAM).has_value());
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);
  CHECK(removeStaleSocketFile(path, SOCK_STREAM).has_value());  // missing is fine

  EventBasePtr base(event_base_new());
  auto address = parseListenAddress("unix:" + path);
  REQUIRE(address.has_value());
  auto live = Listener::open(base.get(), *address, SocketFilePermissions{0600, "", ""}, [](UniqueFd, std::string) {});
  REQUIRE(live.has_value());
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  auto refused = removeStaleSocketFile(path, SOCK_STREAM);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().detail.find("another process listens") != std::string::npos);

  const std::string plain = dir.path() + "/plain";
  UniqueFd(::open(plain.c_str(), O_CREAT | O_WRONLY, 0600));
  auto not_socket = removeStaleSocketFile(plain, SOCK_STREAM);
  REQUIRE_FALSE(not_socket.has_value());
  CHECK(not_socket.error().detail.find("is not a socket") != std::string::npos);
}

TEST_CASE("raiseFileLimit never lowers the soft limit and stops at the hard limit") {
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  auto same = raiseFileLimit(1);
  REQUIRE(same.has_value());
  CHECK(*same == before.rlim_cur);
  if (before.rlim_max != RLIM_INFINITY && ::geteuid() != 0) {
    auto capped = raiseFileLimit(static_cast<std::size_t>(before.rlim_max) + 1000);
    REQUIRE(capped.has_value());
    CHECK(*capped == before.rlim_max);
  }
  auto raised = raiseFileLimit(static_cast<std::size_t>(before.rlim_cur) + 1);
  REQUIRE(raised.has_value());
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(*raised == after.rlim_cur);
  CHECK(after.rlim_cur >= std::min<rlim_t>(before.rlim_cur + 1, after.rlim_max));
}

TEST_CASE("the callback guard reports a throwing callback and lets the caller go on") {
  testing::LogCapture log("loop");
  int ran = 0;
  CHECK(callGuarded("loop", "fine callback", [&] { ++ran; }));
  CHECK_FALSE(callGuarded("loop", "bad callback", [] { throw std::runtime_error("kaputt"); }));
  CHECK_FALSE(callGuarded("loop", "odd callback", [] { throw 42; }));
  CHECK(ran == 1);
  CHECK(log.matching(spdlog::level::err, {"bad callback: internal error", "kaputt"}).size() == 1);
  CHECK(log.matching(spdlog::level::err, {"odd callback: internal error", "not a std::exception"}).size() == 1);
}

TEST_CASE("toTimeval takes any duration, rounds down to microseconds and clamps negatives") {
  struct Case { std::chrono::nanoseconds d; long sec; long usec; };
  for (auto c : {Case{0ns, 0, 0}, Case{1500ms, 1, 500000}, Case{-5ms, 0, 0}, Case{2s, 2, 0},
                 Case{1999ns, 0, 1}, Case{90min, 5400, 0}}) {
    CAPTURE(c.d.count());
    const timeval tv = toTimeval(c.d);
    CHECK(tv.tv_sec == c.sec);
    CHECK(tv.tv_usec == c.usec);
  }
}
