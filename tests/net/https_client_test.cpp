// Integration: OpensslHttpsClient against tests/net/https_server.py on 127.0.0.1, with a
// CA and certificates made by the openssl CLI at test time. What a status or media type
// means for MTA-STS is tested in tests/policy/policy_fetch_test.cpp.
#include "net/openssl_https_client.hpp"

#include "net/https_exchange.hpp"
#include "tests/net/https_world.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <doctest/doctest.h>

#include <optional>
#include <string_view>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;
using test::HttpsWorld;
using test::ServedPolicy;

namespace {

std::string kindOf(const HttpsResult& r) {
  return r.ok() ? "ok" : std::string(httpsErrorKindName(r.error->kind));
}

}  // namespace

TEST_CASE("https client returns any status with its headers, names lower-cased") {
  HttpsWorld world;
  HttpsResult r = world.send(world.request("good", "/headers"));
  REQUIRE(r.ok());
  CHECK(r.response.status == 200);
  CHECK(r.response.header("x-mixed-case") == std::optional<std::string_view>("Yes"));
  CHECK(r.response.header("x-twice") == std::optional<std::string_view>("first"));
  CHECK(r.response.body == "ok\n");
  HttpsResult missing = world.send(world.request("good", "/notfound"));
  REQUIRE(missing.ok());
  CHECK(missing.response.status == 404);
  CHECK(missing.response.body == "not here\n");
  HttpsResult redirect = world.send(world.request("good", "/redirect"));
  REQUIRE(redirect.ok());
  CHECK(redirect.response.status == 301);  // never followed
  CHECK(redirect.response.header("location") == std::optional<std::string_view>("https://evil.test/"));
}

TEST_CASE("https client posts a body with its headers and Content-Length") {
  HttpsWorld world;
  auto req = world.request("good", "/echo-post");
  req.method = HttpMethod::Post;
  req.headers = {{"Content-Type", "application/tlsrpt+gzip"}, {"X-Test", "1"}};
  req.body = std::string("\x1f\x8b\0binary", 9);
  HttpsResult r = world.send(req);
  CAPTURE(r.ok() ? std::string() : r.error->detail);
  REQUIRE(r.ok());
  CHECK(r.response.status == 202);
  CHECK(r.response.header("x-received") == std::optional<std::string_view>("9"));
  CHECK(r.response.body == "method=POST\nctype=application/tlsrpt+gzip\nx-test=1\nlength=9\n" + req.body);
}

TEST_CASE("https client sends Host and User-Agent") {
  HttpsWorld world;
  HttpsResult r = world.send(world.request("good", "/echo"));
  REQUIRE(r.ok());
  CHECK(r.response.body == std::string("host=mta-sts.good.test\nua=mtastsd/") + MTASTS_VERSION + "\n");
}

TEST_CASE("https client never truncates: a body over max_body is a too-large error") {
  HttpsWorld world;
  for (const char* path : {"/big-cl", "/big-nocl", "/big-chunked"}) {
    CAPTURE(path);
    HttpsResult r = world.send(world.request("good", path));
    CHECK(kindOf(r) == "too-large");
  }
  auto exact = world.request("good", "/exact-nocl");
  HttpsResult r = world.send(exact);
  REQUIRE(r.ok());
  CHECK(r.response.body.size() == 65536);
  exact.max_body = 65535;
  CHECK(kindOf(world.send(exact)) == "too-large");
}

TEST_CASE("https client ends the exchange after the head when read_body says no") {
  HttpsWorld world;
  auto req = world.request("good", "/stall", 2000ms);  // the body never comes
  std::optional<int> seen_status;
  req.read_body = [&](const HttpsResponse& head) {
    seen_status = head.status;
    CHECK(head.body.empty());
    return false;
  };
  auto started = std::chrono::steady_clock::now();
  HttpsResult r = world.send(req);
  CHECK(std::chrono::steady_clock::now() - started < 1500ms);
  REQUIRE(r.ok());
  CHECK(seen_status == 200);
  CHECK(r.response.body_skipped);
  CHECK(r.response.header("content-length") == std::optional<std::string_view>("100"));
}

TEST_CASE("https client classifies transport and TLS failures") {
  HttpsWorld world;
  struct Case { const char* server; const char* kind; const char* detail; };
  for (auto c : {Case{"wrongname", "tls-certificate", "hostname mismatch"},
                 Case{"expired", "tls-certificate", "certificate has expired"},
                 Case{"untrusted", "tls-certificate", "unable to get local issuer"},
                 Case{"cnonly", "tls-certificate", "hostname mismatch"},
                 Case{"plain", "tls-other", "TLS connect failed"},
                 Case{"refused", "connect", "Connection refused"}}) {
    CAPTURE(c.server);
    HttpsResult r = world.send(world.request(c.server, "/.well-known/mta-sts.txt"));
    REQUIRE_FALSE(r.ok());
    CAPTURE(r.error->detail);
    CHECK(kindOf(r) == c.kind);
    CHECK(r.error->detail.find(c.detail) != std::string::npos);
  }
  HttpsResult timeout = world.send(world.request("tarpit", "/", 300ms));
  CHECK(kindOf(timeout) == "timeout");
  HttpsResult switching = world.send(world.request("good", "/switching"));
  CHECK(kindOf(switching) == "protocol");
}

TEST_CASE("https client refuses a request it cannot send as given") {
  HttpsWorld world;
  struct Case { const char* what; std::function<void(HttpsRequest&)> spoil; };
  const Case cases[] = {
      {"header value with a line break", [](HttpsRequest& r) { r.headers = {{"X-A", "1\r\nX-B: 2"}}; }},
      {"header name that is no token", [](HttpsRequest& r) { r.headers = {{"X A", "1"}}; }},
      {"reserved header", [](HttpsRequest& r) { r.headers = {{"content-length", "5"}}; }},
      {"path without slash", [](HttpsRequest& r) { r.path = "x"; }},
      {"host that is no name", [](HttpsRequest& r) { r.host = "a b"; }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto req = world.request("good", "/echo");
    c.spoil(req);
    CHECK(kindOf(world.send(req)) == "request");
  }
}

TEST_CASE("https client never calls back a cancelled exchange, nor after its own destruction") {
  HttpsWorld world;
  int calls = 0;
  auto cancelled = world.client->send(world.request("tarpit", "/", 200ms), [&](HttpsResult) { ++calls; });
  cancelled->cancel();
  world.client->send(world.request("good", "/.well-known/mta-sts.txt"), [&](HttpsResult) { ++calls; });
  auto outstanding = world.client->send(world.request("tarpit", "/", 200ms), [&](HttpsResult) { ++calls; });
  test::runLoopUntil(world.base.get(), [] { return false; }, 100ms);
  world.client.reset();
  test::runLoopUntil(world.base.get(), [] { return false; }, 400ms);
  outstanding.reset();
  CHECK(calls == 0);
}

// libevent 2.1 runs the read callback before it reports EOF on a socket, but it reports
// EOF first when a close arrives in the same read as the data (a filter bufferevent, or
// two iovecs): the EOF handler then drains a complete response, which finishes the
// exchange and runs the user callback, which may destroy it. Nothing after that may touch
// the exchange (it used to call SSL_get_shutdown on the freed or reset SSL*).
TEST_CASE("https client survives an EOF reported while the whole response is still buffered") {
  for (bool destroy_in_callback : {false, true}) {
    CAPTURE(destroy_in_callback);
    HttpsWorld world;
    std::optional<HttpsResult> got;
    RequestHandle handle;
    handle = world.client->send(world.request("good", "/.well-known/mta-sts.txt"), [&](HttpsResult r) {
      got = std::move(r);
      if (destroy_in_callback) handle.reset();
    });
    auto* op = dynamic_cast<HttpsExchange*>(handle.get());
    REQUIRE(op != nullptr);
    REQUIRE(test::runLoopUntil(world.base.get(), [&] { return op->connection() != nullptr; }, 10s));
    bufferevent* bev = op->connection();
    // No read callback: the response piles up in the input buffer, as it would before an
    // EOF that libevent reports ahead of the read callback.
    bufferevent_setcb(bev, nullptr, nullptr, &HttpsExchange::onEvent, op);
    evbuffer* input = bufferevent_get_input(bev);
    auto buffered = [&] {
      std::size_t n = evbuffer_get_length(input);
      const auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(input, -1));
      return n > 0 && std::string_view(bytes, n).ends_with(ServedPolicy);
    };
    REQUIRE(test::runLoopUntil(world.base.get(), buffered, 10s));
    REQUIRE_FALSE(got.has_value());
    HttpsExchange::onEvent(bev, BEV_EVENT_EOF | BEV_EVENT_READING, op);
    REQUIRE(got.has_value());
    CAPTURE(got->ok() ? std::string() : got->error->detail);
    CHECK(got->ok());
    CHECK(got->response.body == ServedPolicy);
    CHECK((handle == nullptr) == destroy_in_callback);
  }
}

TEST_CASE("https client refuses to start with an unreadable CA file") {
  EventBasePtr base(event_base_new());
  auto made = OpensslHttpsClient::create(base.get(), HttpsClientOptions{"/nonexistent/ca.pem"});
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().detail.find("/nonexistent/ca.pem") != std::string::npos);
}
