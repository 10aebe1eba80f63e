// net/metrics_http_server: the /metrics endpoint on a real event_base and loopback sockets,
// with a plain socket as the client (the loop runs in bounded steps): what each request gets,
// and the bounds (connections at once, a connection's deadline).
#include "net/metrics_http_server.hpp"

#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;

namespace {

struct BaseDeleter {
  void operator()(event_base* b) const { event_base_free(b); }
};

struct Fixture {
  explicit Fixture(MetricsHttpLimits limits = {}) {
    auto address = parseListenAddress("inet:127.0.0.1:0");
    REQUIRE(address.has_value());
    auto fd = MetricsHttpServer::bindInet(*address);
    REQUIRE(fd.has_value());
    auto made = MetricsHttpServer::create(
        base.get(), std::move(*fd), limits, [this] { return "# scrape " + std::to_string(++scrapes) + "\n"; },
        "text/plain; version=0.0.4; charset=utf-8");
    REQUIRE(made.has_value());
    server = std::move(*made);
    const std::string& name = server->boundName();
    port = static_cast<std::uint16_t>(std::stoi(name.substr(name.rfind(':') + 1)));
  }
  bool run(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    return test::runLoopUntil(base.get(), done, limit);
  }
  std::unique_ptr<event_base, BaseDeleter> base{event_base_new()};
  std::unique_ptr<MetricsHttpServer> server;
  std::uint16_t port = 0;
  int scrapes = 0;
};

// A non-blocking client socket; read() collects what arrived until the server closed.
struct Client {
  explicit Client(std::uint16_t port) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    REQUIRE((rc == 0 || errno == EINPROGRESS));
  }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Reads what is there; true once the server closed the connection.
  bool poll() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
      return closed;
    }
  }
  UniqueFd fd;
  std::string received;
  bool closed = false;
};

std::string exchange(Fixture& f, const std::string& request) {
  Client c(f.port);
  c.send(request);
  REQUIRE(f.run([&] { return c.poll(); }));
  return c.received;
}

}  // namespace

TEST_CASE("GET /metrics gets 200 with the rendered body, the exposition type and Connection: close") {
  Fixture f;
  const std::string response = exchange(f, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CAPTURE(response);
  CHECK(response.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(response.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(response.find("Connection: close\r\n") != std::string::npos);
  CHECK(response.ends_with("\r\n\r\n# scrape 1\n"));
  // Rendered per request.
  CHECK(exchange(f, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").ends_with("# scrape 2\n"));
}

TEST_CASE("anything but GET or HEAD /metrics is refused with the right status") {
  Fixture f;
  struct Case {
    std::string request;
    const char* status;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 "},
      {"GET /metrics/x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 "},
      {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 "},
      {"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405 "},
      {"HELLO\r\n\r\n", "HTTP/1.1 400 "},
      // Within max_request_head (8 KiB) and over it: libevent 2.1 answers 400, not 431.
      {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(7000, 'a') + "\r\n\r\n", "HTTP/1.1 200 "},
      {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", "HTTP/1.1 400 "},
  };
  for (const auto& c : cases) {
    CAPTURE(c.request.substr(0, 40));
    const std::string response = exchange(f, c.request);
    CHECK(response.starts_with(c.status));
  }
  const std::string head = exchange(f, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.ends_with("\r\n\r\n"));  // no body
  CHECK(f.scrapes == 1);                 // the one 200 above; HEAD renders nothing
  CHECK(f.run([&] { return f.server->openConnections() == 0; }));
}

TEST_CASE("at max_connections new connections wait in the backlog until one closes") {
  MetricsHttpLimits limits;
  limits.max_connections = 2;
  Fixture f(limits);
  Client a(f.port);
  Client b(f.port);
  REQUIRE(f.run([&] { return f.server->openConnections() == 2; }));
  Client waiting(f.port);
  waiting.send("GET /metrics HTTP/1.0\r\n\r\n");
  f.run([] { return false; }, 200ms);
  CHECK(f.server->openConnections() == 2);
  CHECK_FALSE(waiting.poll());
  CHECK(waiting.received.empty());
  a.fd.reset();  // one goes: the listener resumes
  REQUIRE(f.run([&] { return waiting.poll(); }));
  CHECK(waiting.received.starts_with("HTTP/1.0 200 OK"));
  b.fd.reset();
  CHECK(f.run([&] { return f.server->openConnections() == 0; }));
}

TEST_CASE("a client that trickles its request is cut off at the connection deadline") {
  MetricsHttpLimits limits;
  limits.connection_deadline = 300ms;
  Fixture f(limits);
  Client slow(f.port);
  const auto start = std::chrono::steady_clock::now();
  slow.send("GET /metrics HTTP/1.1\r\nX: ");
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {  // a byte every 50 ms: evhttp's idle timeout never fires
    if (::send(slow.fd.get(), "a", 1, MSG_NOSIGNAL) != 1) break;
    f.run([] { return false; }, 50ms);
    closed = slow.poll();
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  CHECK(f.run([&] { return f.server->openConnections() == 0; }));
}

TEST_CASE("stopAccepting closes the listener") {
  Fixture f;
  f.server->stopAccepting();
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(f.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0);
}

TEST_CASE("bindInet refuses a unix address") {
  auto address = parseListenAddress("unix:/tmp/x");
  REQUIRE(address.has_value());
  CHECK_FALSE(MetricsHttpServer::bindInet(*address).has_value());
}
