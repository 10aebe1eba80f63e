// Integration: EvhttpHttpsFetcher against tests/net/https_server.py on 127.0.0.1, with a
// CA and certificates made by the openssl CLI at test time.
#include "net/evhttp_https_fetcher.hpp"

#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <optional>

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
      {"wildcard", "/.well-known/mta-sts.txt", "ok", ""},
      {"good", "/notfound", "sts-policy-fetch-error", "HTTP status 404"},
      {"good", "/redirect", "sts-policy-fetch-error", "redirect not followed (301)"},
      {"good", "/html", "sts-policy-invalid", "text/html"},
      {"good", "/notype", "sts-policy-invalid", "no Content-Type"},
      {"good", "/big-cl", "sts-policy-fetch-error", "Content-Length 70000 exceeds"},
      {"good", "/big-nocl", "sts-policy-fetch-error", "body larger than 65536 bytes"},
      {"good", "/big-chunked", "sts-policy-fetch-error", "body larger than 65536 bytes"},
      {"wrongname", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "hostname mismatch"},
      {"partial", "/.well-known/mta-sts.txt", "sts-webpki-invalid", "hostname mismatch"},
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

TEST_CASE("https fetcher refuses to start with an unreadable CA file") {
  EventBasePtr base(event_base_new());
  auto made = EvhttpHttpsFetcher::create(base.get(), FetcherOptions{"/nonexistent/ca.pem"});
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().detail.find("/nonexistent/ca.pem") != std::string::npos);
}
