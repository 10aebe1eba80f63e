// OpensslTlsProber against real servers on loopback: tests/net/smtp_server.py (SMTP with
// STARTTLS, one behaviour per port) and the HTTPS servers of https_server.py (direct TLS).
// Every wait is bounded (runLoopUntil).
#include "net/openssl_tls_probe.hpp"
#include "tests/net/https_world.hpp"
#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

using namespace mtasts::net;
using namespace std::chrono_literals;

namespace {

struct SmtpWorld {
  test::TempDir dir;
  test::ChildProcess server{{"/usr/bin/python3", test::scriptDir() + "/smtp_server.py", "--dir", dir.path(),
                             "--lifetime", "150"},
                            30s};
  EventBasePtr base{event_base_new()};
  std::unique_ptr<OpensslTlsProber> prober;

  SmtpWorld() {
    REQUIRE(server.ready());
    auto made = OpensslTlsProber::create(base.get(), server.value("ca_file"));
    REQUIRE_MESSAGE(made.has_value(), (made ? "" : made.error().detail));
    prober = std::move(*made);
  }

  TlsProbeResult probe(const std::string& behaviour, std::chrono::milliseconds timeout = 5000ms,
                       const std::string& host = "mx.good.test") {
    TlsProbeRequest r;
    r.host = host;
    r.address = "127.0.0.1";
    r.port = static_cast<std::uint16_t>(server.port(behaviour + "_port"));
    REQUIRE(r.port != 0);
    r.mode = TlsProbeMode::SmtpStartTls;
    r.ehlo_name = "checker.example.org";
    r.timeout = timeout;
    std::optional<TlsProbeResult> got;
    auto handle = prober->probe(std::move(r), [&](TlsProbeResult result) { got = std::move(result); });
    CHECK_FALSE(got.has_value());  // never from inside probe()
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 20s));
    return std::move(*got);
  }

  std::string sessions() const {
    std::ifstream in(dir.path() + "/sessions.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

TEST_CASE("the STARTTLS probe reaches TLS and reports the certificate of a good MX") {
  SmtpWorld w;
  const auto r = w.probe("good");
  CAPTURE(r.detail);
  REQUIRE(r.outcome == TlsProbeOutcome::TlsEstablished);
  CHECK(r.stage == TlsProbeStage::Done);
  CHECK(r.greeting == "220 mx.good.test ESMTP");
  CHECK((r.tls.version == "TLSv1.3" || r.tls.version == "TLSv1.2"));
  CHECK_FALSE(r.tls.cipher.empty());
  const auto& cert = r.tls.certificate;
  CHECK(cert.present);
  CHECK(cert.name_matches);
  CHECK(cert.dns_names == std::vector<std::string>{"mx.good.test"});
  CHECK(cert.chain_problems.empty());
  CHECK(cert.not_after > now() + 20 * 86400);
  CHECK(cert.not_before <= now());
  // The probe said EHLO with the configured name and ended with QUIT (over TLS).
  REQUIRE(test::runLoopUntil(w.base.get(), [&] { return w.sessions().find("\"quit\": true") != std::string::npos; }, 5s));
  CHECK(w.sessions().find("\"ehlo\": \"checker.example.org\"") != std::string::npos);
  CHECK(w.sessions().find("\"tls\": true") != std::string::npos);
}

TEST_CASE("the STARTTLS probe reports every certificate problem instead of failing the handshake") {
  SmtpWorld w;
  SUBCASE("a certificate for another name") {
    const auto r = w.probe("wrongname");
    REQUIRE(r.outcome == TlsProbeOutcome::TlsEstablished);
    CHECK_FALSE(r.tls.certificate.name_matches);
    CHECK(r.tls.certificate.dns_names == std::vector<std::string>{"other.test"});
    CHECK(r.tls.certificate.chain_problems.empty());
  }
  SUBCASE("an expired certificate: the dates say so, the chain is otherwise fine") {
    const auto r = w.probe("expired");
    REQUIRE(r.outcome == TlsProbeOutcome::TlsEstablished);
    CHECK(r.tls.certificate.name_matches);
    CHECK(r.tls.certificate.not_after < now());
    CHECK(r.tls.certificate.chain_problems.empty());
  }
  SUBCASE("a certificate from a CA nobody trusts") {
    const auto r = w.probe("untrusted");
    REQUIRE(r.outcome == TlsProbeOutcome::TlsEstablished);
    CHECK(r.tls.certificate.name_matches);
    REQUIRE_FALSE(r.tls.certificate.chain_problems.empty());
    CHECK(r.tls.certificate.chain_problems.front() == "unable to get local issuer certificate (depth 0)");
  }
}

TEST_CASE("the STARTTLS probe says where an SMTP session stopped") {
  SmtpWorld w;
  struct Case {
    const char* behaviour;
    TlsProbeOutcome want_outcome;
    TlsProbeStage want_stage;
    std::string want_detail;
  };
  const Case cases[] = {
      {"nostarttls", TlsProbeOutcome::NoStartTls, TlsProbeStage::Done, ""},
      {"refusetls", TlsProbeOutcome::Failed, TlsProbeStage::StartTls, "STARTTLS refused: 454 4.7.0 TLS not available"},
      {"inject", TlsProbeOutcome::Failed, TlsProbeStage::StartTls, "14 bytes after the reply, before the next command"},
      {"badgreeting", TlsProbeOutcome::Failed, TlsProbeStage::Greeting, "greeting 554 5.7.1 no service for you"},
      {"garbage", TlsProbeOutcome::Failed, TlsProbeStage::Greeting,
       "malformed reply: reply line does not start with a three-digit code"},
      {"longline", TlsProbeOutcome::Failed, TlsProbeStage::Greeting, "malformed reply: reply line longer than 1000 bytes"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.behaviour);
    const auto r = w.probe(c.behaviour);
    CAPTURE(r.detail);
    CHECK(r.outcome == c.want_outcome);
    CHECK(r.stage == c.want_stage);
    CHECK(r.detail == c.want_detail);
  }
}

TEST_CASE("the STARTTLS probe is bounded in time, and does not wait long for QUIT") {
  SmtpWorld w;
  SUBCASE("a server that never greets") {
    const auto started = std::chrono::steady_clock::now();
    const auto r = w.probe("silent", 300ms);
    CHECK(r.outcome == TlsProbeOutcome::Failed);
    CHECK(r.stage == TlsProbeStage::Greeting);
    CHECK(r.detail == "no answer within 300 ms (at greeting)");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
  SUBCASE("a server that never answers QUIT: the result is kept") {
    const auto started = std::chrono::steady_clock::now();
    const auto r = w.probe("slowquit", 1000ms);
    CHECK(r.outcome == TlsProbeOutcome::TlsEstablished);
    CHECK(r.tls.certificate.name_matches);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
  SUBCASE("a refused port") {
    TlsProbeRequest req;
    req.host = "mx.good.test";
    req.address = "127.0.0.1";
    req.port = static_cast<std::uint16_t>(test::sharedHttpsServer().port("refused_port"));
    req.ehlo_name = "checker.example.org";
    std::optional<TlsProbeResult> got;
    auto handle = w.prober->probe(req, [&](TlsProbeResult r) { got = std::move(r); });
    REQUIRE(test::runLoopUntil(w.base.get(), [&] { return got.has_value(); }, 10s));
    CHECK(got->outcome == TlsProbeOutcome::Failed);
    CHECK(got->stage == TlsProbeStage::Connect);
    CHECK(got->detail == "connect failed: Connection refused");
  }
}

TEST_CASE("the probe checks direct TLS too: an HTTPS policy host's certificate") {
  auto& https = test::sharedHttpsServer();
  REQUIRE(https.ready());
  EventBasePtr base{event_base_new()};
  auto made = OpensslTlsProber::create(base.get(), https.value("ca_file"));
  REQUIRE(made.has_value());
  struct Case {
    const char* server;
    bool want_name;
    bool want_trusted;
  };
  const Case cases[] = {
      {"good", true, true},     {"wildcard", true, true},   {"partial", false, true},
      {"cnonly", false, true},  {"wrongname", false, true}, {"untrusted", true, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.server);
    TlsProbeRequest req;
    req.host = test::PolicyHost;
    req.address = "127.0.0.1";
    req.port = static_cast<std::uint16_t>(https.port(std::string(c.server) + "_port"));
    req.mode = TlsProbeMode::DirectTls;
    req.timeout = 5000ms;
    std::optional<TlsProbeResult> got;
    auto handle = (*made)->probe(req, [&](TlsProbeResult r) { got = std::move(r); });
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 10s));
    CAPTURE(got->detail);
    REQUIRE(got->outcome == TlsProbeOutcome::TlsEstablished);
    CHECK(got->tls.certificate.name_matches == c.want_name);
    CHECK(got->tls.certificate.chain_problems.empty() == c.want_trusted);
  }
}

TEST_CASE("a cancelled probe never calls back") {
  SmtpWorld w;
  TlsProbeRequest req;
  req.host = "mx.good.test";
  req.address = "127.0.0.1";
  req.port = static_cast<std::uint16_t>(w.server.port("silent_port"));
  req.ehlo_name = "checker.example.org";
  req.timeout = 200ms;
  bool called = false;
  auto handle = w.prober->probe(req, [&](TlsProbeResult) { called = true; });
  handle.reset();
  test::runLoopUntil(w.base.get(), [] { return false; }, 400ms);
  CHECK_FALSE(called);
}
