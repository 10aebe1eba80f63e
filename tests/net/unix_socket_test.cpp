// The unix socket file helpers and the datagram socket on real sockets in a temporary
// directory (no network): stale files replaced, live sockets and other files refused, mode
// applied, batches received with truncation detected.
#include "net/unix_datagram_socket.hpp"
#include "net/unix_socket_file.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

using namespace mtasts;
using namespace mtasts::net;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    std::string templ = base + "/mtasts-net-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

sockaddr_un addressOf(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  return sun;
}

// Binds a socket of `type` at path and returns its fd (the caller closes it).
int bindAt(const std::string& path, int type) {
  int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un sun = addressOf(path);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  return fd;
}

bool sendTo(const std::string& path, std::string_view bytes) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un sun = addressOf(path);
  const bool ok = ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sun),
                           sizeof sun) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("a stale socket file of either type is removed before binding") {
  TempDir dir;
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    CAPTURE(type);
    const std::string path = dir.file("stale.sock");
    ::close(bindAt(path, type));  // bound, then closed: the file stays, nobody serves it
    REQUIRE(std::filesystem::exists(path));
    auto removed = removeStaleSocketFile(path, SOCK_DGRAM);
    CHECK_MESSAGE(removed, (removed ? "" : removed.error().detail));
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

TEST_CASE("a socket another process serves, or a file that is no socket, is never removed") {
  TempDir dir;
  SUBCASE("live datagram socket") {
    const std::string path = dir.file("live.sock");
    int fd = bindAt(path, SOCK_DGRAM);
    auto removed = removeStaleSocketFile(path, SOCK_DGRAM);
    REQUIRE_FALSE(removed);
    CHECK(removed.error().detail.find("another process listens") != std::string::npos);
    CHECK(std::filesystem::exists(path));
    ::close(fd);
  }
  SUBCASE("live socket of the other type") {
    const std::string path = dir.file("stream.sock");
    int fd = bindAt(path, SOCK_STREAM);
    REQUIRE(::listen(fd, 1) == 0);
    auto removed = removeStaleSocketFile(path, SOCK_DGRAM);
    REQUIRE_FALSE(removed);
    CHECK(removed.error().detail.find("another type") != std::string::npos);
    CHECK(std::filesystem::exists(path));
    ::close(fd);
  }
  SUBCASE("regular file") {
    const std::string path = dir.file("plain");
    std::ofstream(path) << "x";
    auto removed = removeStaleSocketFile(path, SOCK_STREAM);
    REQUIRE_FALSE(removed);
    CHECK(removed.error().detail.find("not a socket") != std::string::npos);
    CHECK(std::filesystem::exists(path));
  }
}

TEST_CASE("socket file permissions name the configuration key of an unknown owner or group") {
  TempDir dir;
  const std::string path = dir.file("p.sock");
  int fd = bindAt(path, SOCK_DGRAM);
  auto mode = applySocketFilePermissions(path, SocketFilePermissions{0620, "", ""}, "tlsrpt_socket");
  REQUIRE(mode);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0620);
  auto owner = applySocketFilePermissions(path, SocketFilePermissions{0600, "no-such-user-mtasts", ""}, "tlsrpt_socket");
  REQUIRE_FALSE(owner);
  CHECK(owner.error().code == ErrorCode::InvalidInput);
  CHECK(owner.error().detail.starts_with("tlsrpt_socket_owner: no user"));
  auto group = applySocketFilePermissions(path, SocketFilePermissions{0600, "", "no-such-group-mtasts"}, "unix_socket");
  REQUIRE_FALSE(group);
  CHECK(group.error().detail.starts_with("unix_socket_group: no group"));
  ::close(fd);
}

TEST_CASE("a datagram socket receives batches, detects truncation and unlinks its file") {
  TempDir dir;
  const std::string path = dir.file("dgram.sock");
  {
    auto socket = UnixDatagramSocket::bind(path, SocketFilePermissions{0666, "", ""}, "tlsrpt_socket");
    REQUIRE_MESSAGE(socket, (socket ? "" : socket.error().detail));
    DatagramBatch batch(4, 16);
    auto none = batch.receive(socket->fd());
    REQUIRE(none);
    CHECK(*none == 0);  // nothing queued: returns at once
    REQUIRE(sendTo(path, "first"));
    REQUIRE(sendTo(path, "exactly 16 bytes"));
    REQUIRE(sendTo(path, "seventeen bytes!!"));
    auto got = batch.receive(socket->fd());
    REQUIRE(got);
    REQUIRE(*got == 3);
    CHECK(batch.datagram(0) == "first");
    CHECK_FALSE(batch.truncated(0));
    CHECK(batch.datagram(1) == "exactly 16 bytes");
    CHECK_FALSE(batch.truncated(1));
    CHECK(batch.datagram(2) == "seventeen bytes!");
    CHECK(batch.truncated(2));
    // More than one batch holds: the rest comes with the next call.
    for (int i = 0; i < 6; ++i) REQUIRE(sendTo(path, std::to_string(i)));
    auto first = batch.receive(socket->fd());
    auto second = batch.receive(socket->fd());
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first == 4);
    CHECK(*second == 2);
    CHECK(batch.datagram(1) == "5");
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("an adopted datagram socket (from systemd) receives, and its file outlives it untouched") {
  TempDir dir;
  const std::string path = dir.file("inherited.sock");
  const int fd = bindAt(path, SOCK_DGRAM);  // blocking, as systemd passes it
  REQUIRE(fd >= 0);
  REQUIRE(::chmod(path.c_str(), 0620) == 0);
  {
    UnixDatagramSocket socket = UnixDatagramSocket::adopt(fd, path);
    CHECK(socket.fd() == fd);
    CHECK(socket.path() == path);
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    DatagramBatch batch(2, 64);
    REQUIRE(sendTo(path, "hello"));
    auto got = batch.receive(socket.fd());
    REQUIRE(got);
    REQUIRE(*got == 1);
    CHECK(batch.datagram(0) == "hello");
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);  // its owner removes it
  CHECK((st.st_mode & 07777) == 0620);
  CHECK(::fcntl(fd, F_GETFD) == -1);  // the descriptor was closed, once
}

TEST_CASE("a datagram socket refuses a relative path and a live socket at its path") {
  TempDir dir;
  auto relative = UnixDatagramSocket::bind("relative.sock", SocketFilePermissions{}, "tlsrpt_socket");
  REQUIRE_FALSE(relative);
  CHECK(relative.error().detail.starts_with("tlsrpt_socket:"));
  const std::string path = dir.file("twice.sock");
  auto first = UnixDatagramSocket::bind(path, SocketFilePermissions{}, "tlsrpt_socket");
  REQUIRE(first);
  auto second = UnixDatagramSocket::bind(path, SocketFilePermissions{}, "tlsrpt_socket");
  REQUIRE_FALSE(second);
  CHECK(std::filesystem::exists(path));  // the failed second bind left the first one's file
}

TEST_CASE("max_dgram_qlen of this namespace is readable") {
  auto qlen = readMaxDgramQlen();
  REQUIRE_MESSAGE(qlen, (qlen ? "" : qlen.error().detail));
  CHECK(*qlen > 0);
}
