// The HTTPS test world shared by the net/ and policy/ integration tests: one
// tests/net/https_server.py process per test executable (certificates made once, killed at
// exit) and an OpensslHttpsClient that trusts its CA, on a private event_base.
#pragma once

#include "net/openssl_https_client.hpp"
#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

namespace mtasts::net::test {

inline constexpr const char* PolicyHost = "mta-sts.good.test";
inline constexpr const char* ServedPolicy = "version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 86400\n";

struct SharedHttpsServer {
  TempDir dir;
  ChildProcess process{{"/usr/bin/python3", scriptDir() + "/https_server.py", "--dir", dir.path(), "--lifetime", "150"},
                       std::chrono::seconds(30)};
};

inline ChildProcess& sharedHttpsServer() {
  static SharedHttpsServer shared;
  return shared.process;
}

struct HttpsWorld {
  ChildProcess& server = sharedHttpsServer();
  EventBasePtr base{event_base_new()};
  std::unique_ptr<OpensslHttpsClient> client;

  HttpsWorld() {
    REQUIRE(server.ready());
    auto made = OpensslHttpsClient::create(base.get(), HttpsClientOptions{server.value("ca_file")});
    REQUIRE_MESSAGE(made.has_value(), (made ? "" : made.error().detail));
    client = std::move(*made);
  }

  std::uint16_t port(const std::string& server_name) const {
    auto p = static_cast<std::uint16_t>(server.port(server_name + "_port"));
    REQUIRE(p != 0);
    return p;
  }

  HttpsRequest request(const std::string& server_name, const std::string& path,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    HttpsRequest r;
    r.host = PolicyHost;
    r.path = path;
    r.addresses = {"127.0.0.1"};
    r.port = port(server_name);
    r.timeout = timeout;
    return r;
  }

  HttpsResult send(HttpsRequest r) {
    std::optional<HttpsResult> got;
    auto handle = client->send(std::move(r), [&](HttpsResult result) { got = std::move(result); });
    CHECK_FALSE(got.has_value());  // never from inside send()
    REQUIRE(runLoopUntil(base.get(), [&] { return got.has_value(); }, std::chrono::seconds(15)));
    return std::move(*got);
  }
};

}  // namespace mtasts::net::test
