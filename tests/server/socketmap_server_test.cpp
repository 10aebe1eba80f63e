// SocketmapServer on a real event_base, listening on 127.0.0.1 port 0, with a fake
// PolicyLookup the test controls (answers synchronously, later on command, or never) and
// its timeouts on a ManualScheduler: time moves only when a test says so. The loop runs only
// in short bounded steps (runUntil until something happens, settle() to show that nothing
// does), never with sleeps.
#include "server/socketmap_connection.hpp"
#include "server/socketmap_server.hpp"
#include "postfix/netstring.hpp"
#include "tests/fakes/manual_scheduler.hpp"

#include <doctest/doctest.h>
#include <event2/event.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::server;
using mtasts::postfix::PolicyAnswer;
using namespace std::chrono_literals;

namespace {

struct BaseDeleter {
  void operator()(event_base* b) const noexcept { event_base_free(b); }
};

// Runs the loop in small steps until done() or the bound runs out.
bool runUntil(event_base* base, const std::function<bool()>& done, std::chrono::milliseconds limit = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  event* tick = evtimer_new(base, [](int, short, void*) {}, nullptr);
  bool ok = true;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ok = false;
      break;
    }
    timeval tv{0, 2000};
    evtimer_add(tick, &tv);
    event_base_loop(base, EVLOOP_ONCE);
  }
  event_free(tick);
  return ok;
}

// Runs every loop event that is ready now, a few turns over: loopback delivers at once, so
// whatever the server would do with what the clients sent has been done afterwards.
void settle(event_base* base) {
  for (int i = 0; i < 50; ++i) event_base_loop(base, EVLOOP_NONBLOCK);
}

std::string netstring(std::string_view payload) {
  std::string out;
  postfix::appendNetstring(out, payload);
  return out;
}

class FakeSource final : public postfix::PolicyLookup {
 public:
  struct Wait {
    std::string domain;
    Callback done;
    bool cancelled = false;
    bool answered = false;
  };
  // Domains starting with "later" or "never" wait; others answer at once: "enforce*" with
  // a policy, "temp*" with TEMP <domain>, the rest NOTFOUND.
  RequestHandle lookup(std::string_view domain, Callback done) override {
    ++lookups;
    if (domain.starts_with("later") || domain.starts_with("never")) {
      auto wait = std::make_shared<Wait>(Wait{std::string(domain), std::move(done)});
      waits.push_back(wait);
      struct Handle final : PendingOperation {
        std::shared_ptr<Wait> wait;
        void cancel() noexcept override { if (!wait->answered) wait->cancelled = true; }
        ~Handle() override { cancel(); }
      };
      auto handle = std::make_unique<Handle>();
      handle->wait = wait;
      return handle;
    }
    done(decisionFor(domain));
    return nullptr;
  }
  PolicyAnswer decisionFor(std::string_view domain) {
    PolicyAnswer d;
    d.domain = domain;
    if (domain.starts_with("enforce") || domain.starts_with("dane")) {
      d.kind = domain.starts_with("dane") ? PolicyAnswer::Kind::DaneOnly : PolicyAnswer::Kind::Enforce;
      d.mx = &policy.mx;
      d.policy_lines = &policy.lines;
    } else if (domain.starts_with("temp")) {
      d.kind = PolicyAnswer::Kind::TempFail;
      d.reason = domain;
    }
    return d;
  }
  void answer(std::size_t i, std::string_view as_domain) {
    REQUIRE(i < waits.size());
    REQUIRE_FALSE(waits[i]->cancelled);
    waits[i]->answered = true;
    waits[i]->done(decisionFor(as_domain));
  }
  struct {
    std::vector<std::string> mx;
    std::vector<std::pair<std::string, std::string>> lines;
  } policy{{"mx1.example.com", "*.example.net"},
           {{"version", "STSv1"}, {"mode", "enforce"}, {"mx", "mx1.example.com"}, {"mx", "*.example.net"}, {"max_age", "86400"}}};
  std::vector<std::shared_ptr<Wait>> waits;
  int lookups = 0;
};

class Client {
 public:
  explicit Client(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {  // before connect: it sets the window the server may fill
      REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) == 0);
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  }
  ~Client() { ::close(fd_); }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  void request(std::string_view payload) { send(netstring(payload)); }
  // Reads what arrived and splits complete netstrings into replies.
  void poll() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) { data_.append(buf, static_cast<std::size_t>(n)); continue; }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed_ = true;
      break;
    }
    for (;;) {
      auto v = postfix::decodeNetstring(data_, 1 << 20);
      if (v.status != postfix::NetstringStatus::Complete) break;
      replies.emplace_back(v.payload);
      data_.erase(0, v.consumed);
    }
  }
  bool hasReplies(std::size_t n) { poll(); return replies.size() >= n; }
  // Reads (and drops) up to n bytes that have arrived: a slow reader.
  std::size_t readSome(std::size_t n) {
    std::string buf(n, '\0');
    const ssize_t got = ::recv(fd_, buf.data(), n, MSG_DONTWAIT);
    return got > 0 ? static_cast<std::size_t>(got) : 0;
  }
  bool closed() { poll(); return closed_; }
  std::vector<std::string> replies;

 private:
  int fd_ = -1;
  std::string data_;
  bool closed_ = false;
};

// The fixture's server counts into its own registry; sample() reads one series back.
SocketmapMetrics registeredMetrics(metrics::Registry& registry) {
  auto made = SocketmapMetrics::create(registry);
  REQUIRE(made.has_value());
  return *made;
}

struct Fixture {
  explicit Fixture(ServerLimits limits = {})
      : server(base.get(), scheduler, source, std::move(limits), registeredMetrics(registry)) {
    auto ok = server.listen({"inet:127.0.0.1:0"}, {});
    REQUIRE(ok.has_value());
    port = server.boundPorts().at(0);
    REQUIRE(port != 0);
  }
  bool run(const std::function<bool()>& done, std::chrono::milliseconds limit = 2000ms) {
    return runUntil(base.get(), done, limit);
  }
  void settle() { ::settle(base.get()); }
  // The value of the series `name` (with `label`="value" when given); -1 when absent.
  double sample(std::string_view name, std::string_view label = {}, std::string_view value = {}) const {
    for (const auto& family : registry.collect()) {
      if (family.name != name) continue;
      for (const auto& series : family.series) {
        if (label.empty() || (family.label_names.at(0) == label && series.label_values.at(0) == value))
          return series.value;
      }
    }
    return -1;
  }
  // Moves the server's time on, running the timers that come due, then lets the loop act.
  void advance(std::chrono::milliseconds ms) {
    scheduler.advance(ms);
    settle();
  }
  std::unique_ptr<event_base, BaseDeleter> base{event_base_new()};
  testing::ManualScheduler scheduler;
  FakeSource source;
  metrics::Registry registry;
  SocketmapServer server;
  std::uint16_t port = 0;
};

}  // namespace

TEST_CASE("replies keep request order when later requests complete first") {
  Fixture f;
  Client c(f.port);
  c.send(netstring("postfix later-a.test") + netstring("postfix sync.test") + netstring("postfix later-b.test"));
  REQUIRE(f.run([&] { return f.source.waits.size() == 2; }));
  f.source.answer(1, "enforce.test");
  f.settle();
  CHECK_FALSE(c.hasReplies(1));  // the first is still waiting
  f.source.answer(0, "temp-first");
  REQUIRE(f.run([&] { return c.hasReplies(3); }));
  CHECK(c.replies == std::vector<std::string>{"TEMP temp-first", "NOTFOUND ",
                                              "OK secure match=mx1.example.com:.example.net servername=hostname"});
}

TEST_CASE("100 pipelined requests in one write get 100 replies in order") {
  Fixture f;
  Client c(f.port);
  std::string batch;
  for (int i = 0; i < 100; ++i) batch += netstring("postfix temp" + std::to_string(i) + ".test");
  c.send(batch);
  REQUIRE(f.run([&] { return c.hasReplies(100); }));
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    CHECK(c.replies[static_cast<std::size_t>(i)] == "TEMP temp" + std::to_string(i) + ".test");
  }
}

TEST_CASE("keys that must not be looked up get NOTFOUND without a lookup") {
  Fixture f;
  Client c(f.port);
  const std::string keys[] = {".example.com", "[192.0.2.1]:25", "127.0.0.1", std::string(64, 'a') + ".example.com", ""};
  for (const auto& key : keys) c.request("postfix " + key);
  REQUIRE(f.run([&] { return c.hasReplies(5); }));
  for (const auto& reply : c.replies) CHECK(reply == "NOTFOUND ");
  CHECK(f.source.lookups == 0);
}

TEST_CASE("a request without a space gets PERM and the connection stays usable") {
  Fixture f;
  Client c(f.port);
  c.request("nospace");
  c.request("postfix temp.test");
  REQUIRE(f.run([&] { return c.hasReplies(2); }));
  CHECK(c.replies[0].starts_with("PERM "));
  CHECK(c.replies[1] == "TEMP temp.test");
  CHECK_FALSE(c.closed());
  CHECK(f.sample("mtastsd_socketmap_bad_requests_total", "reason", "invalid_request") == 1);
}

TEST_CASE("the map name selects the TLSRPT verdict flavour") {
  ServerLimits limits;
  limits.tlsrpt_map_names = {"postfix-tlsrpt"};
  Fixture f(limits);
  Client c(f.port);
  c.request("postfix-tlsrpt enforce.test");
  c.request("postfix enforce.test");
  REQUIRE(f.run([&] { return c.hasReplies(2); }));
  CHECK(c.replies[0].find(" policy_type=sts policy_domain=enforce.test") != std::string::npos);
  CHECK(c.replies[1].find("policy_type") == std::string::npos);
}

TEST_CASE("a bad netstring closes only its own connection") {
  struct Case { const char* name; std::string bytes; const char* reason; };
  const Case cases[] = {{"oversized", "20000:" + std::string(20000, 'x') + ",", "too_long"},
                        {"malformed", "12x:postfix a,", "malformed_netstring"},
                        {"missing comma", "9:postfix a;", "malformed_netstring"}};
  for (const auto& bad : cases) {
    CAPTURE(bad.name);
    Fixture f;
    Client good(f.port);
    Client evil(f.port);
    evil.send(bad.bytes);
    REQUIRE(f.run([&] { return evil.closed(); }));
    good.request("postfix temp.test");
    REQUIRE(f.run([&] { return good.hasReplies(1); }));
    CHECK(good.replies[0] == "TEMP temp.test");
    CHECK(evil.replies.empty());
    CHECK(f.sample("mtastsd_socketmap_bad_requests_total", "reason", bad.reason) == 1);
    CHECK(f.sample("mtastsd_socketmap_connections_open") == 1);
  }
}

TEST_CASE("an idle connection is closed but one waiting for an answer is not") {
  ServerLimits limits;
  limits.idle_timeout = 30ms;
  Fixture f(limits);
  Client idle(f.port);
  Client busy(f.port);
  busy.request("postfix later.test");
  REQUIRE(f.run([&] { return f.server.connectionCount() == 2 && f.source.waits.size() == 1; }));
  f.advance(30ms);
  REQUIRE(f.run([&] { return idle.closed(); }));
  f.advance(100ms);
  CHECK_FALSE(busy.closed());
  f.source.answer(0, "temp-late");
  REQUIRE(f.run([&] { return busy.hasReplies(1); }));
  CHECK(busy.replies[0] == "TEMP temp-late");
  f.advance(29ms);
  CHECK_FALSE(busy.closed());
  f.advance(1ms);
  REQUIRE(f.run([&] { return busy.closed(); }));  // idle again after the reply
}

TEST_CASE("bytes trickling into an unfinished request do not extend the idle deadline") {
  ServerLimits limits;
  limits.idle_timeout = 60ms;
  Fixture f(limits);
  for (std::string_view first : {"9999:", "1"}) {  // a never-ending netstring, a length prefix
    CAPTURE(first);
    Client slow(f.port);
    slow.send(std::string(first));
    REQUIRE(f.run([&] { return f.server.connectionCount() == 1; }));
    f.settle();
    bool closed = false;
    int steps = 0;
    for (; steps < 40 && !closed; ++steps) {  // one byte every 20 ms for up to 800 ms
      f.advance(20ms);
      closed = slow.closed();
      if (!closed) slow.send("x");
    }
    CHECK(closed);
    if (first == "9999:") CHECK(steps == 3);  // at idle_timeout after the first byte
    REQUIRE(f.run([&] { return f.server.connectionCount() == 0; }));
  }
  // "9999:" times out; "1" then "x" is no netstring and is closed as such.
  CHECK(f.sample("mtastsd_socketmap_connections_timed_out_total", "timeout", "request") == 1);
  CHECK(f.sample("mtastsd_socketmap_bad_requests_total", "reason", "malformed_netstring") == 1);
}

TEST_CASE("a client that keeps completing requests is never idle") {
  ServerLimits limits;
  limits.idle_timeout = 60ms;
  Fixture f(limits);
  Client busy(f.port);
  for (std::size_t i = 1; i <= 10; ++i) {  // 300 ms in all, a request every 30 ms
    busy.request("postfix [127.0.0.1]");
    REQUIRE(f.run([&] { return busy.hasReplies(i); }));
    f.advance(30ms);
    CHECK_FALSE(busy.closed());
  }
}

TEST_CASE("a client that reads no replies is closed once writes made no progress for write_timeout") {
  ServerLimits limits;
  limits.write_timeout = 1000ms;
  limits.tlsrpt_map_names = {"postfix-tlsrpt"};
  Fixture f(limits);
  for (int i = 0; i < 200; ++i) f.source.policy.lines.push_back({"x-ext" + std::to_string(i), std::string(400, 'v')});
  Client c(f.port, 8192);
  std::string batch;
  for (int i = 0; i < 300; ++i) batch += netstring("postfix-tlsrpt enforce.test");  // ~25 MB of replies
  c.send(batch);
  REQUIRE(f.run([&] { return f.server.connectionCount() == 1; }));
  f.settle();
  f.advance(600ms);
  // Progress at 600 ms restarts the clock: read enough that the server can write again
  // (a socket turns writable only once a good part of its send buffer is free).
  std::size_t read = 0;
  for (int i = 0; i < 1000 && read < 4 * 1024 * 1024; ++i) {
    read += c.readSome(256 * 1024);
    f.settle();
  }
  REQUIRE(read >= 4 * 1024 * 1024);
  f.advance(999ms);
  CHECK(f.server.connectionCount() == 1);
  f.advance(1ms);
  CHECK(f.server.connectionCount() == 0);  // 1000 ms after the last progress
  CHECK(f.sample("mtastsd_socketmap_connections_timed_out_total", "timeout", "write") == 1);
  CHECK(f.sample("mtastsd_socketmap_connections_open") == 0);
}

TEST_CASE("connections beyond max_connections are closed at once and counted as refused") {
  ServerLimits limits;
  limits.max_connections = 1;
  Fixture f(limits);
  Client first(f.port);
  REQUIRE(f.run([&] { return f.server.connectionCount() == 1; }));
  Client second(f.port);
  REQUIRE(f.run([&] { return second.closed(); }));
  CHECK(f.sample("mtastsd_socketmap_connections_refused_total") == 1);
  CHECK(f.sample("mtastsd_socketmap_connections_accepted_total") == 1);
  CHECK(f.sample("mtastsd_socketmap_connections_open") == 1);
  first.request("postfix temp.test");
  REQUIRE(f.run([&] { return first.hasReplies(1); }));
}

TEST_CASE("closing a connection cancels its outstanding lookups") {
  Fixture f;
  {
    Client c(f.port);
    c.request("postfix never.test");
    REQUIRE(f.run([&] { return f.source.waits.size() == 1; }));
  }
  REQUIRE(f.run([&] { return f.server.connectionCount() == 0; }));
  CHECK(f.source.waits[0]->cancelled);
}

TEST_CASE("reading pauses at max_pipelined requests in flight and resumes") {
  ServerLimits limits;
  limits.max_pipelined = 2;
  Fixture f(limits);
  Client c(f.port);
  std::string batch;
  for (int i = 0; i < 5; ++i) batch += netstring("postfix later" + std::to_string(i) + ".test");
  c.send(batch);
  REQUIRE(f.run([&] { return f.source.waits.size() == 2; }));
  f.settle();
  CHECK(f.source.waits.size() == 2);
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE(f.run([&] { return f.source.waits.size() > i; }));
    f.source.answer(i, "temp" + std::to_string(i));
  }
  REQUIRE(f.run([&] { return c.hasReplies(5); }));
  CHECK(c.replies.back() == "TEMP temp4");
}

TEST_CASE("graceful shutdown answers in-flight requests, then reports done") {
  Fixture f;
  Client idle(f.port);
  Client busy(f.port);
  busy.request("postfix later.test");
  REQUIRE(f.run([&] { return f.source.waits.size() == 1 && f.server.connectionCount() == 2; }));
  bool done = false;
  f.server.shutdown(5000ms, [&] { done = true; });
  REQUIRE(f.run([&] { return idle.closed(); }));
  CHECK_FALSE(done);
  f.source.answer(0, "temp-final");
  REQUIRE(f.run([&] { return done; }));
  CHECK(busy.hasReplies(1));
  CHECK(busy.replies[0] == "TEMP temp-final");
}

TEST_CASE("shutdown gives up on requests still in flight after the timeout") {
  Fixture f;
  Client busy(f.port);
  busy.request("postfix never.test");
  REQUIRE(f.run([&] { return f.source.waits.size() == 1; }));
  bool done = false;
  f.server.shutdown(20ms, [&] { done = true; });
  f.advance(19ms);
  CHECK_FALSE(done);
  f.advance(1ms);
  CHECK(done);
  CHECK(f.source.waits[0]->cancelled);
}

TEST_CASE("an oversized TLSRPT verdict falls back to the plain flavour") {
  FakeSource source;
  for (int i = 0; i < 40; ++i) source.policy.lines.push_back({"x-extension" + std::to_string(i), std::string(40, 'v')});
  const PolicyAnswer d = source.decisionFor("enforce.test");
  const std::string big = replyForAnswer(d, true, 100000);
  CHECK(big.find("policy_type=sts") != std::string::npos);
  REQUIRE(big.size() > 1024);
  const std::string fitted = replyForAnswer(d, true, 1024);
  CHECK(fitted == "OK secure match=mx1.example.com:.example.net servername=hostname");
}

TEST_CASE("outcomes map to reply classes in one place") {
  using postfix::ReplyStatus;
  CHECK(replyStatusFor(PolicyAnswer::Kind::Enforce) == ReplyStatus::Ok);
  CHECK(replyStatusFor(PolicyAnswer::Kind::DaneOnly) == ReplyStatus::Ok);
  CHECK(replyStatusFor(PolicyAnswer::Kind::NoPolicy) == ReplyStatus::NotFound);
  CHECK(replyStatusFor(PolicyAnswer::Kind::TempFail) == ReplyStatus::Temp);
  CHECK(replyStatusFor(ErrorCode::InvalidInput) == ReplyStatus::Perm);
  CHECK(replyStatusFor(ErrorCode::Timeout) == ReplyStatus::Timeout);
  CHECK(replyStatusFor(ErrorCode::Io) == ReplyStatus::Temp);
}

TEST_CASE("a dane-only answer gets Postfix's dane-only level, never a fallback to no policy") {
  FakeSource source;
  PolicyAnswer d = source.decisionFor("dane.test");
  CHECK(replyForAnswer(d, false, 100000) == "OK dane-only");
  const std::string tlsrpt = replyForAnswer(d, true, 100000);
  CHECK(tlsrpt.starts_with("OK dane-only policy_type=sts policy_domain=dane.test"));
  CHECK(tlsrpt.find("match=") == std::string::npos);  // Postfix refuses match= at DANE levels
  PolicyAnswer bare;
  bare.kind = PolicyAnswer::Kind::DaneOnly;
  bare.domain = "dane.test";
  CHECK(replyForAnswer(bare, true, 100000) == "OK dane-only");  // no MTA-STS policy at all
  std::vector<std::string> unusable{"-bad-"};
  bare.mx = &unusable;
  CHECK(replyForAnswer(bare, false, 100000) == "OK dane-only");
}

TEST_CASE("a unix listener replaces a stale socket file and applies its mode") {
  const std::string path = "/tmp/mtastsd-test-" + std::to_string(::getpid()) + ".sock";
  {  // leave a stale socket behind: bound, never listened on, closed
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    ::close(fd);
  }
  std::unique_ptr<event_base, BaseDeleter> base{event_base_new()};
  testing::ManualScheduler scheduler;
  FakeSource source;
  {
    SocketmapServer server(base.get(), scheduler, source, {});
    auto ok = server.listen({"unix:" + path}, {0600, "", ""});
    CAPTURE(ok ? std::string() : ok.error().detail);
    REQUIRE(ok.has_value());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    SocketmapServer second(base.get(), scheduler, source, {});
    CHECK_FALSE(second.listen({"unix:" + path}, {}).has_value());  // someone listens there
  }
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);  // unlinked when the listener went away
}

// The [6] review: the last reply of a draining connection is sent from the server's send
// event; closing that connection ran the shutdown callback, which may destroy the server,
// while the send loop still walked the server's queue (a use after free under ASan).
TEST_CASE("a shutdown callback may destroy the server from the last reply's send") {
  std::unique_ptr<event_base, BaseDeleter> base{event_base_new()};
  testing::ManualScheduler scheduler;
  FakeSource source;
  auto server = std::make_unique<SocketmapServer>(base.get(), scheduler, source, ServerLimits{});
  REQUIRE(server->listen({"inet:127.0.0.1:0"}, {}).has_value());
  Client c(server->boundPorts().at(0));
  c.request("postfix later.test");
  REQUIRE(runUntil(base.get(), [&] { return source.waits.size() == 1; }));
  bool done = false;
  server->shutdown(5000ms, [&] {
    done = true;
    server.reset();
  });
  source.answer(0, "temp-last");
  REQUIRE(runUntil(base.get(), [&] { return done; }));
  CHECK(server == nullptr);
  REQUIRE(runUntil(base.get(), [&] { return c.hasReplies(1); }));
  CHECK(c.replies[0] == "TEMP temp-last");
}
