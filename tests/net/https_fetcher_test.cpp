// Integration: EvhttpHttpsFetcher against tests/net/https_server.py on 127.0.0.1, with a
// CA and certificates made by the openssl CLI at test time.
#include "net/evhttp_https_fetcher.hpp"

#include "net/fetch_operation.hpp"
#include "tests/net/test_support.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <doctest/doctest.h>

#include <optional>
#include <string_view>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;

namespace {

constexpr const char* Host = "mta-sts.good.test";
constexpr const char* Policy = "version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 86400\n";

// One server process (and one certificate generation) for all test cases of this file;
// destroyed at exit, which kills it.
struct SharedServer {
  test::TempDir dir;
  test::ChildProcess process{{"/usr/bin/python3", test::scriptDir() + "/https_server.py", "--dir",
                              dir.path(), "--lifetime", "150"},
                             30s};
};

test::ChildProcess& sharedServer() {
  static SharedServer shared;
  return shared.process;
}

struct HttpsWorld {
  test::ChildProcess& server = sharedServer();
  EventBasePtr base{event_base_new()};
  std::unique_ptr<EvhttpHttpsFetcher> fetcher;

  HttpsWorld() {
    REQUIRE(server.ready());
    auto made = EvhttpHttpsFetcher::create(base.get(), FetcherOptions{server.value("ca_file")});
    REQUIRE_MESSAGE(made.has_value(), (made ? "" : made.error().detail));
    fetcher = std::move(*made);
  }

  FetchRequest request(const std::string& server_name, const std::string& path,
                       std::chrono::milliseconds timeout = 3000ms) {
    FetchRequest r;
    r.host = Host;
    r.path = path;
    r.addresses = {"127.0.0.1"};
    r.port = static_cast<std::uint16_t>(server.port(server_name + "_port"));
    r.timeout = timeout;
    REQUIRE(r.port != 0);
    return r;
  }

  FetchResult fetch(FetchRequest r) {
    std::optional<FetchResult> got;
    auto handle = fetcher->fetch(std::move(r), [&](FetchResult result) { got = std::move(result); });
    CHECK_FALSE(got.has_value());  // never from inside fetch()
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 15s));
    return std::move(*got);
  }
};

std::string typeName(const FetchResult& r) {
  return r.ok ? "ok" : std::string(tlsRptResultTypeName(r.failure));
}

}  // namespace

TEST_CASE("https fetcher classifies every server behaviour") {
  HttpsWorld world;
  struct Case {
    const char* server;
    const char* path;
    const char* want;    // "ok" or the RFC 8460 result type
    const char* detail;  // substring expected in the detail ("" = none checked)
  };
  const Case cases[] = {
      {"good", "/.well-known/mta-sts.txt", "ok", ""},
      {"good", "/upper", "ok", ""},
      {"good", "/chunked", "ok", ""},
      {"good", "/early-hints", "ok", ""},
      {"good", "/switching", "sts-policy-fetch-error", "unexpected 101 Switching Protocols"},
      {"wildcard", "/.well-known/mta-sts.txt", "ok", ""},
      {"good", "/notfound", "sts-policy-fetch-error", "HTTP status 404"},
      {"good", "/redirect", "sts-policy-fetch-error", "redirect not followed (301)"},
      // Not a policy document at all: a fetch error, not an invalid policy (RFC 8460 4.3.2).
      {"good", "/html", "sts-policy-fetch-error", "text/html"},
      {"good", "/notype", "sts-policy-fetch-error", "no Content-Type"},
      {"good", "/big-cl", "sts-policy-fetch-error", "Content-Length 70000 exceeds"},
      {"good", "/big-nocl", "sts-policy-fetch-error", "body larger than 65536 bytes"},
      {"good", "/big-chunked", "sts-policy-fetch-error", "body larger than 65536 bytes"},
      {"wrongname", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "hostname mismatch"},
      {"partial", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "hostname mismatch"},
      // RFC 8461 3.3 -> RFC 6125: DNS-ID only, never the subject CN of a SAN-less certificate.
      {"cnonly", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "hostname mismatch"},
      {"expired", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "certificate has expired"},
      {"untrusted", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "unable to get local issuer"},
      {"plain", "/.well-known/mta-sts.txt", "sts-policy-fetch-error", "TLS connect failed"},
      {"refused", "/.well-known/mta-sts.txt", "sts-policy-fetch-error", "Connection refused"},
  };
  for (const auto& c : cases) {
    std::string where = std::string(c.server) + " " + c.path;
    CAPTURE(where);
    FetchResult r = world.fetch(world.request(c.server, c.path));
    CAPTURE(r.detail);
    CHECK(typeName(r) == c.want);
    CHECK(r.detail.find(c.detail) != std::string::npos);
    if (r.ok) CHECK(r.body == Policy);
  }
}

TEST_CASE("https fetcher accepts a body of exactly max_body bytes without Content-Length") {
  HttpsWorld world;
  FetchResult r = world.fetch(world.request("good", "/exact-nocl"));
  CAPTURE(r.detail);
  REQUIRE(r.ok);
  CHECK(r.body == std::string(65536, 'b'));
  CHECK(r.http_status == 200);
}

TEST_CASE("https fetcher sends Host and User-Agent for the policy host") {
  HttpsWorld world;
  FetchResult r = world.fetch(world.request("good", "/echo"));
  REQUIRE(r.ok);
  CHECK(r.body == std::string("host=mta-sts.good.test\nua=mtastsd/") + MTASTS_VERSION + "\n");
}

TEST_CASE("https fetcher bounds a silent server and a stalled body by the request timeout") {
  HttpsWorld world;
  for (const char* server : {"tarpit", "good"}) {
    CAPTURE(server);
    auto started = std::chrono::steady_clock::now();
    FetchResult r = world.fetch(world.request(server, server == std::string("good") ? "/stall" : "/", 500ms));
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(typeName(r) == "sts-policy-fetch-error");
    CHECK(r.detail.find("timeout after") != std::string::npos);
    CHECK(took >= 450ms);
    CHECK(took < 1500ms);
  }
}

TEST_CASE("https fetcher tries the next address and keeps the most specific failure") {
  HttpsWorld world;
  SUBCASE("a refused first address falls through to a working one") {
    auto req = world.request("good", "/.well-known/mta-sts.txt");
    req.addresses = {"127.0.0.2", "not-an-address", "127.0.0.1"};
    FetchResult r = world.fetch(req);
    CAPTURE(r.detail);
    CHECK(r.ok);
  }
  SUBCASE("a certificate failure wins over a later refused connection") {
    auto req = world.request("wrongname", "/.well-known/mta-sts.txt");
    req.addresses = {"127.0.0.1", "127.0.0.2"};
    FetchResult r = world.fetch(req);
    CHECK(typeName(r) == "sts-webpki-invalid");
    CHECK(r.detail.find("hostname mismatch") != std::string::npos);
  }
  SUBCASE("no addresses is a fetch error delivered from the loop") {
    auto req = world.request("good", "/");
    req.addresses.clear();
    FetchResult r = world.fetch(req);
    CHECK(typeName(r) == "sts-policy-fetch-error");
    CHECK(r.detail == "no addresses to connect to");
  }
}

TEST_CASE("https fetcher never calls back a cancelled fetch, nor after its own destruction") {
  HttpsWorld world;
  int calls = 0;
  auto cancelled = world.fetcher->fetch(world.request("tarpit", "/", 200ms), [&](FetchResult) { ++calls; });
  cancelled->cancel();
  world.fetcher->fetch(world.request("good", "/.well-known/mta-sts.txt"), [&](FetchResult) { ++calls; });
  auto outstanding = world.fetcher->fetch(world.request("tarpit", "/", 200ms), [&](FetchResult) { ++calls; });
  test::runLoopUntil(world.base.get(), [] { return false; }, 100ms);
  world.fetcher.reset();
  test::runLoopUntil(world.base.get(), [] { return false; }, 400ms);
  outstanding.reset();
  CHECK(calls == 0);
}

// libevent 2.1 runs the read callback before it reports EOF on a socket, but it reports
// EOF first when a close arrives in the same read as the data (a filter bufferevent, or
// two iovecs): the EOF handler then drains a complete response, which finishes the fetch
// and runs the user callback, which may destroy the operation. Nothing after that may
// touch the operation (it used to call SSL_get_shutdown on the freed or reset SSL*).
TEST_CASE("https fetcher survives an EOF reported while the whole response is still buffered") {
  for (bool destroy_in_callback : {false, true}) {
    CAPTURE(destroy_in_callback);
    HttpsWorld world;
    std::optional<FetchResult> got;
    RequestHandle handle;
    handle = world.fetcher->fetch(world.request("good", "/.well-known/mta-sts.txt"), [&](FetchResult r) {
      got = std::move(r);
      if (destroy_in_callback) handle.reset();
    });
    auto* op = dynamic_cast<FetchOperation*>(handle.get());
    REQUIRE(op != nullptr);
    REQUIRE(test::runLoopUntil(world.base.get(), [&] { return op->connection() != nullptr; }, 10s));
    bufferevent* bev = op->connection();
    // No read callback: the response piles up in the input buffer, as it would before an
    // EOF that libevent reports ahead of the read callback.
    bufferevent_setcb(bev, nullptr, nullptr, &FetchOperation::onEvent, op);
    evbuffer* input = bufferevent_get_input(bev);
    auto buffered = [&] {
      std::size_t n = evbuffer_get_length(input);
      const auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(input, -1));
      return n > 0 && std::string_view(bytes, n).ends_with(Policy);
    };
    REQUIRE(test::runLoopUntil(world.base.get(), buffered, 10s));
    REQUIRE_FALSE(got.has_value());
    FetchOperation::onEvent(bev, BEV_EVENT_EOF | BEV_EVENT_READING, op);
    REQUIRE(got.has_value());
    CAPTURE(got->detail);
    CHECK(got->ok);
    CHECK(got->body == Policy);
    CHECK((handle == nullptr) == destroy_in_callback);
  }
}

TEST_CASE("https fetcher refuses to start with an unreadable CA file") {
  EventBasePtr base(event_base_new());
  auto made = EvhttpHttpsFetcher::create(base.get(), FetcherOptions{"/nonexistent/ca.pem"});
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().detail.find("/nonexistent/ca.pem") != std::string::npos);
}
