// Integration: the MTA-STS fetch rules (policy/policy_fetch) over the real OpensslHttpsClient
// against tests/net/https_server.py on 127.0.0.1 (CA and certificates made at test time).
// Every server behaviour maps to the RFC 8460 result type it is reported as.
#include "policy/policy_fetch.hpp"

#include "tests/net/https_world.hpp"

#include <doctest/doctest.h>

#include <optional>

using namespace mtasts;
using namespace mtasts::policy;
using namespace std::chrono_literals;
using mtasts::net::test::HttpsWorld;
using mtasts::net::test::PolicyHost;
using mtasts::net::test::ServedPolicy;

namespace {

struct FetchWorld {
  HttpsWorld https;

  struct Request {
    std::string server;
    std::string path;
    std::vector<std::string> addresses{"127.0.0.1"};
    PolicyFetchRules rules;
  };

  Request request(const std::string& server, const std::string& path,
                  std::chrono::milliseconds timeout = 3000ms) {
    Request r;
    r.server = server;
    r.path = path;
    r.rules.timeout = timeout;
    r.rules.port = https.port(server);
    return r;
  }

  // The policy request with its path swapped for a test path (the server serves one
  // behaviour per path), then the MTA-STS reading of the result.
  PolicyDocument fetch(const Request& r) {
    net::HttpsRequest req = policyRequest(PolicyHost, r.addresses, r.rules);
    req.path = r.path;
    std::optional<PolicyDocument> got;
    auto handle = https.client->send(std::move(req), [&](net::HttpsResult result) {
      got = classifyPolicyResponse(std::move(result));
    });
    CHECK_FALSE(got.has_value());  // never from inside send()
    REQUIRE(net::test::runLoopUntil(https.base.get(), [&] { return got.has_value(); }, 15s));
    return std::move(*got);
  }
};

std::string typeName(const PolicyDocument& r) {
  return r.ok ? "ok" : std::string(tlsRptResultTypeName(r.failure));
}

}  // namespace

TEST_CASE("a policy fetch classifies every server behaviour") {
  FetchWorld world;
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
    PolicyDocument r = world.fetch(world.request(c.server, c.path));
    CAPTURE(r.detail);
    CHECK(typeName(r) == c.want);
    CHECK(r.detail.find(c.detail) != std::string::npos);
    if (r.ok) CHECK(r.body == ServedPolicy);
  }
}

TEST_CASE("a policy fetch accepts a body of exactly max_body bytes without Content-Length") {
  FetchWorld world;
  PolicyDocument r = world.fetch(world.request("good", "/exact-nocl"));
  CAPTURE(r.detail);
  REQUIRE(r.ok);
  CHECK(r.body == std::string(65536, 'b'));
  CHECK(r.http_status == 200);
}

TEST_CASE("a policy fetch asks for text/plain at the well-known path") {
  PolicyFetchRules rules;
  rules.max_policy_size = 1024 * 1024;  // above the parser's bound: capped
  const net::HttpsRequest r = policyRequest("mta-sts.good.test", {"192.0.2.1"}, rules);
  CHECK(r.method == net::HttpMethod::Get);
  CHECK(r.path == "/.well-known/mta-sts.txt");
  CHECK(r.headers == net::HttpHeaders{{"Accept", "text/plain"}});
  CHECK(r.max_body == 64 * 1024);
  REQUIRE(r.read_body);
  net::HttpsResponse head;
  head.status = 404;
  CHECK_FALSE(r.read_body(head));  // judged by its head, the body is not downloaded
  head.status = 200;
  head.headers = {{"content-type", "text/plain; charset=utf-8"}};
  CHECK(r.read_body(head));
}

TEST_CASE("a policy fetch is bounded by its timeout for a silent server and a stalled body") {
  FetchWorld world;
  for (const char* server : {"tarpit", "good"}) {
    CAPTURE(server);
    auto started = std::chrono::steady_clock::now();
    PolicyDocument r = world.fetch(world.request(server, server == std::string("good") ? "/stall" : "/", 500ms));
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(typeName(r) == "sts-policy-fetch-error");
    CHECK(r.detail.find("timeout after") != std::string::npos);
    CHECK(took >= 450ms);
    CHECK(took < 1500ms);
  }
}

TEST_CASE("a policy fetch tries the next address and keeps the most specific failure") {
  FetchWorld world;
  SUBCASE("a refused first address falls through to a working one") {
    auto req = world.request("good", "/.well-known/mta-sts.txt");
    req.addresses = {"127.0.0.2", "not-an-address", "127.0.0.1"};
    PolicyDocument r = world.fetch(req);
    CAPTURE(r.detail);
    CHECK(r.ok);
  }
  SUBCASE("a certificate failure wins over a later refused connection") {
    auto req = world.request("wrongname", "/.well-known/mta-sts.txt");
    req.addresses = {"127.0.0.1", "127.0.0.2"};
    PolicyDocument r = world.fetch(req);
    CHECK(typeName(r) == "sts-webpki-invalid");
    CHECK(r.detail.find("hostname mismatch") != std::string::npos);
  }
  SUBCASE("no addresses is a fetch error delivered from the loop") {
    auto req = world.request("good", "/");
    req.addresses.clear();
    PolicyDocument r = world.fetch(req);
    CHECK(typeName(r) == "sts-policy-fetch-error");
    CHECK(r.detail == "no addresses to connect to");
  }
}
