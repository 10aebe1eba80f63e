// Socket activation's matching (daemon/inherited_sockets.hpp): sockets made here the way
// systemd makes them (unix stream and datagram sockets in a temp dir, a loopback TCP
// listener on a port the kernel picks), described, and matched against key values.
#include "daemon/inherited_sockets.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

using namespace mtasts;
using namespace mtasts::daemon;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string templ = "/tmp/mtasts-inherit-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

net::UniqueFd unixSocket(int type, const std::string& path, bool listening) {
  net::UniqueFd fd(::socket(AF_UNIX, type, 0));
  REQUIRE(fd);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  if (listening) REQUIRE(::listen(fd.get(), 8) == 0);
  return fd;
}

// A TCP listener on 127.0.0.1 and the port the kernel gave it.
std::pair<net::UniqueFd, int> loopbackListener() {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(fd);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(::listen(fd.get(), 8) == 0);
  socklen_t len = sizeof sin;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  return {std::move(fd), ntohs(sin.sin_port)};
}

}  // namespace

TEST_CASE("a listening unix stream socket matches its listen entry and nothing else") {
  TempDir dir;
  const std::string path = dir.path + "/socketmap";
  const InheritedSocket s = describeSocket(unixSocket(SOCK_STREAM, path, true), 3, "socketmap");
  REQUIRE(s.kind == SocketKind::Stream);
  CHECK(s.address == "unix:" + path);
  CHECK(s.name == "socketmap");
  CHECK(s.number == 3);
  CHECK(socketMatches(s, SocketKind::Stream, "unix:" + path));
  CHECK_FALSE(socketMatches(s, SocketKind::Stream, "unix:" + path + "x"));
  CHECK_FALSE(socketMatches(s, SocketKind::Stream, "inet:127.0.0.1:8461"));
  CHECK_FALSE(socketMatches(s, SocketKind::Datagram, path));
}

TEST_CASE("a unix datagram socket matches tlsrpt_socket's path, with or without unix:") {
  TempDir dir;
  const std::string path = dir.path + "/tlsrpt.sock";
  const InheritedSocket s = describeSocket(unixSocket(SOCK_DGRAM, path, false), 4, "tlsrpt");
  REQUIRE(s.kind == SocketKind::Datagram);
  CHECK(socketMatches(s, SocketKind::Datagram, path));
  CHECK(socketMatches(s, SocketKind::Datagram, "unix:" + path));
  CHECK_FALSE(socketMatches(s, SocketKind::Datagram, dir.path + "/other.sock"));
  CHECK_FALSE(socketMatches(s, SocketKind::Datagram, ""));
  CHECK_FALSE(socketMatches(s, SocketKind::Stream, "unix:" + path));
}

TEST_CASE("an inet listener matches entries of its address and port, numeric or by name") {
  auto [fd, port] = loopbackListener();
  const InheritedSocket s = describeSocket(std::move(fd), 3, "socketmap");
  REQUIRE(s.kind == SocketKind::Stream);
  const std::string p = std::to_string(port);
  CHECK(s.address == "inet:127.0.0.1:" + p);
  struct Case {
    std::string entry;
    bool match;
  };
  const Case cases[] = {
      {"inet:127.0.0.1:" + p, true},
      {"inet:localhost:" + p, true},  // a name: every address it stands for is compared
      {"inet:127.0.0.2:" + p, false},
      {"inet:0.0.0.0:" + p, false},
      {"inet:[::1]:" + p, false},
      {"inet:127.0.0.1:0", false},  // "any port" is no particular socket
      {"inet:127.0.0.1:" + std::to_string(port == 65535 ? 1 : port + 1), false},
      {"unix:/run/x", false},
      {"garbage", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.entry);
    CHECK(socketMatches(s, SocketKind::Stream, c.entry) == c.match);
  }
  CHECK_FALSE(socketMatches(s, SocketKind::Datagram, "inet:127.0.0.1:" + p));
}

TEST_CASE("a stream socket that does not listen (Accept=yes) has no kind and matches nothing") {
  TempDir dir;
  const std::string path = dir.path + "/s";
  net::UniqueFd bound = unixSocket(SOCK_STREAM, path, false);
  const InheritedSocket s = describeSocket(std::move(bound), 3, "unknown");
  CHECK_FALSE(s.kind.has_value());
  CHECK_FALSE(socketMatches(s, SocketKind::Stream, "unix:" + path));
}

TEST_CASE("without LISTEN_PID naming this process no socket is taken") {
  ::setenv("LISTEN_PID", "1", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  auto taken = takeSystemdSockets();
  REQUIRE(taken.has_value());
  CHECK(taken->empty());
  CHECK(std::getenv("LISTEN_FDS") == nullptr);  // unset either way: a child must not see them
  ::unsetenv("LISTEN_PID");
}
