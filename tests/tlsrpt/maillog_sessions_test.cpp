#include "postfix/maillog_line.hpp"
#include "tlsrpt/maillog_sessions.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

struct Feeder {
  explicit Feeder(MaillogSessionsConfig config = {}) : sessions(std::move(config)) {}
  MaillogSessions sessions;
  std::vector<MaillogSession> out;
  UnixSeconds now = 1'000'000;

  void line(std::string_view text, unsigned pid = 100, std::string_view ident = "postfix/smtp",
            std::string_view host = "mx1") {
    const std::string l = "May  4 12:00:00 " + std::string(host) + " " + std::string(ident) + "[" +
                          std::to_string(pid) + "]: " + std::string(text);
    const auto ev = postfix::parseMaillogLine(l);
    REQUIRE(ev.kind != postfix::MaillogKind::Malformed);
    sessions.feed(ev, now, out);
  }
};

std::string established(std::string_view trust, std::string_view namaddr) {
  return std::string(trust) + " TLS connection established to " + std::string(namaddr) +
         ": TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
}

std::string status(std::string_view qid, std::string_view rcpt, std::string_view relay,
                   std::string_view tail) {
  return std::string(qid) + ": to=<" + std::string(rcpt) + ">, relay=" + std::string(relay) +
         ", delay=0.2, delays=0.1/0/0.1/0, " + std::string(tail);
}

const std::string kMx = "mx.example.com[192.0.2.10]:25";
const std::string kSent = "dsn=2.0.0, status=sent (250 2.0.0 Ok)";
const std::string kNotVerified = "dsn=4.7.5, status=deferred (Server certificate not verified)";

}  // namespace

TEST_CASE("a message to several recipients over one handshake is one session") {
  Feeder f;
  f.line(established("Verified", kMx));
  for (const char* rcpt : {"a@example.com", "b@example.com", "c@example.com"}) {
    f.line(status("4F2A91C3D0", rcpt, kMx, kSent));
  }
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].success);
  CHECK(f.out[0].policy_domain == "example.com");
  CHECK(f.out[0].queue_id == "4F2A91C3D0");
  CHECK(f.sessions.counters().repeated_status_lines == 2);
  // The next message of the same process on a new connection is a new session.
  f.line(established("Verified", kMx));
  f.line(status("5A0B1C2D3E", "a@example.com", kMx, kSent));
  CHECK(f.out.size() == 2);
}

TEST_CASE("a cached connection is not a new session") {
  Feeder f;
  f.line("Verified TLS connection reused to " + kMx + ": TLSv1.3 with cipher X (256/256 bits)");
  f.line(status("4F2A91C3D0", "a@example.com", kMx, "conn_use=2, " + kSent));
  CHECK(f.out.empty());
  CHECK(f.sessions.counters().reused_connections == 1);
  CHECK(f.sessions.counters().status_without_tls == 0);
}

TEST_CASE("TLS lines wait for the status line of their own process only") {
  Feeder f;
  f.line("server certificate verification failed for " + kMx + ": num=62:hostname mismatch", 1);
  f.line(established("Untrusted", kMx), 1);
  f.line(established("Verified", "mx.other.net[198.51.100.7]:25"), 2);
  f.line(status("BBBBB22222", "x@other.net", "mx.other.net[198.51.100.7]:25", kSent), 2);
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].policy_domain == "other.net");
  CHECK(f.out[0].success);
  f.line(status("AAAAA11111", "y@example.com", kMx, kNotVerified), 1);
  REQUIRE(f.out.size() == 2);
  CHECK(f.out[1].policy_domain == "example.com");
  CHECK(f.out[1].failure.result == TlsRptResultType::CertificateHostMismatch);
  SUBCASE("the same pid on another host is another process") {
    f.line(established("Verified", kMx), 1, "postfix/smtp", "mx2");
    f.line(status("CCCCC33333", "z@example.com", kMx, kSent), 1, "postfix/smtp", "mx1");
    CHECK(f.out.size() == 2);
    CHECK(f.sessions.pendingHandshakes() == 1);
  }
}

TEST_CASE("a killed smtp process leaks no state: its handshakes expire and are counted") {
  MaillogSessionsConfig config;
  config.max_age = 600;
  Feeder f(config);
  f.line(established("Verified", kMx), 7);
  CHECK(f.sessions.trackedProcesses() == 1);
  f.now += 599;
  f.sessions.expire(f.now);
  CHECK(f.sessions.pendingHandshakes() == 1);
  f.now += 1;
  f.sessions.expire(f.now);
  CHECK(f.sessions.trackedProcesses() == 0);
  CHECK(f.sessions.counters().dropped_expired == 1);
  // A later process with the reused pid does not inherit the lost handshake.
  f.line(status("4F2A91C3D0", "a@example.com", kMx, kSent), 7);
  CHECK(f.out.empty());
}

TEST_CASE("feed() sweeps expired state by itself every sweep_interval") {
  MaillogSessionsConfig config;
  config.max_age = 100;
  config.sweep_interval = 10;
  Feeder f(config);
  f.line(established("Verified", kMx), 7);
  f.now += 200;
  f.line("Verified TLS connection reused to " + kMx + ": x", 8);
  CHECK(f.sessions.counters().dropped_expired == 1);
  CHECK(f.sessions.trackedProcesses() == 1);
}

TEST_CASE("state is bounded in processes and in handshakes per process") {
  MaillogSessionsConfig config;
  config.max_processes = 3;
  config.max_pending_per_process = 2;
  Feeder f(config);
  for (unsigned pid = 1; pid <= 5; ++pid) {
    f.line(established("Verified", kMx), pid);
    f.now += 1;
  }
  CHECK(f.sessions.trackedProcesses() == 3);
  CHECK(f.sessions.counters().dropped_evicted == 2);
  for (int i = 0; i < 4; ++i) f.line(established("Verified", kMx), 5);
  CHECK(f.sessions.counters().dropped_overflow == 3);
  f.line(status("4F2A91C3D0", "a@example.com", kMx, kSent), 5);
  CHECK(f.out.size() == 2);
}

TEST_CASE("a status line alone still proves a failed enforced handshake (smtp_tls_loglevel 0)") {
  Feeder f;
  f.line(status("4F2A91C3D0", "a@example.com", kMx, kNotVerified));
  REQUIRE(f.out.size() == 1);
  CHECK_FALSE(f.out[0].success);
  CHECK(f.out[0].from_status_only);
  CHECK(f.out[0].failure.result == TlsRptResultType::ValidationFailure);
  CHECK(f.out[0].failure.failure_reason_code.empty());
  CHECK(f.out[0].mx_ip == "192.0.2.10");
  f.line(status("5A0B1C2D3E", "a@example.com", kMx,
                "dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"));
  REQUIRE(f.out.size() == 2);
  CHECK(f.out[1].failure.failure_reason_code == "tls-handshake-failure");
}

TEST_CASE("a resumed session with an untrusted certificate is certificate-not-trusted") {
  const std::string resumed =
      kMx + ": re-using session with untrusted certificate, look for details earlier in the log";
  SUBCASE("counted, as smtp_tlsrpt_skip_reused_handshakes = no reports it") {
    Feeder f;
    f.line(resumed);
    f.line(established("Untrusted", kMx));
    f.line(status("4F2A91C3D0", "a@example.com", kMx, kNotVerified));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].failure.result == TlsRptResultType::CertificateNotTrusted);
  }
  SUBCASE("skipped when configured like smtp_tlsrpt_skip_reused_handshakes = yes") {
    MaillogSessionsConfig config;
    config.count_resumed_untrusted = false;
    Feeder f(config);
    f.line(resumed);
    f.line(established("Untrusted", kMx));
    f.line(status("4F2A91C3D0", "a@example.com", kMx, kNotVerified));
    CHECK(f.out.empty());
    CHECK(f.sessions.counters().resumed_skipped == 1);
  }
}

TEST_CASE("Postfix 3.11 lines: a trusted name mismatch fails and tls= tells the level") {
  Feeder f;
  f.line("server certificate verification failed for " + kMx + ": num=62:hostname mismatch");
  f.line(established("Trusted", kMx));
  f.line(status("4F2A91C3D0", "a@example.com", kMx,
                "tls=!secure, dsn=4.7.5, status=deferred (Server certificate not verified)"));
  f.line(established("Trusted", kMx));
  f.line(status("5A0B1C2D3E", "a@example.com", kMx, "tls=may, " + kSent));
  f.line("TLSRPT: status=success, domain=example.com, receiving_mx=mx.example.com[192.0.2.10]");
  REQUIRE(f.out.size() == 2);
  CHECK(f.out[0].failure.result == TlsRptResultType::CertificateHostMismatch);
  CHECK(f.out[0].trust == postfix::TlsTrust::Trusted);
  CHECK(f.out[1].success);
  CHECK(f.out[1].enforcement == Enforcement::NotEnforced);
  CHECK(f.sessions.sawTlsRptLines());
}

TEST_CASE("verification details of tlsproxy are claimed by the smtp process of that MX") {
  Feeder f;
  f.line("certificate verification failed for " + kMx + ": self-signed certificate", 9,
         "postfix/tlsproxy");
  f.line(established("Untrusted", kMx), 9, "postfix/tlsproxy");
  f.line("SSL_connect error to mx.broken.net[203.0.113.5]:25: lost connection", 9,
         "postfix/tlsproxy");
  f.line(established("Untrusted", kMx), 100);
  f.line(status("4F2A91C3D0", "a@example.com", kMx, kNotVerified), 100);
  f.line(status("5A0B1C2D3E", "a@broken.net", "mx.broken.net[203.0.113.5]:25",
                "dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"),
         101);
  REQUIRE(f.out.size() == 2);
  CHECK(f.out[0].failure.failure_reason_code == "self-signed_certificate");
  CHECK(f.out[0].via_tlsproxy);
  CHECK(f.out[1].failure.failure_reason_code == "tls-handshake-failure");
  CHECK(f.out[1].via_tlsproxy);
  CHECK_FALSE(f.out[1].from_status_only);
  CHECK(f.sessions.pendingHandshakes() == 0);
}

TEST_CASE("a verification line for another MX than the next summary is dropped and counted") {
  Feeder f;
  f.line("server certificate verification failed for mx.a.net[198.51.100.1]:25: certificate has "
         "expired");
  f.line(established("Verified", kMx));
  f.line(status("4F2A91C3D0", "a@example.com", kMx, kSent));
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].success);
  CHECK(f.sessions.counters().dropped_unmatched == 1);
}

TEST_CASE("the next hop comes from the hook, the relayhost list or the recipient domain") {
  MaillogSessionsConfig config;
  config.relayhost = "[relay1.example.net]:587, [relay2.example.net]:587";
  config.next_hop_for = [](std::string_view domain) -> std::optional<std::string> {
    if (domain == "partner.example") return std::string("[192.0.2.99]:25");
    if (domain == "special.example") return std::string("gateway.special.example");
    return std::nullopt;
  };
  std::vector<std::string> asked;
  config.policy_for = [&asked](std::string_view domain) {
    asked.emplace_back(domain);
    PolicyDescriptor p;
    p.type = PolicyType::Sts;
    p.domain = std::string(domain);
    return p;
  };
  Feeder f(config);
  const std::string relay2 = "relay2.example.net[192.0.2.2]:587";
  f.line(established("Verified", relay2));
  f.line(status("AAAAA11111", "u@Customer.Example", relay2, kSent));
  f.line(established("Verified", kMx));
  f.line(status("BBBBB22222", "u@partner.example", kMx, kSent));
  f.line(established("Verified", kMx));
  f.line(status("CCCCC33333", "u@special.example", kMx, kSent));
  REQUIRE(f.out.size() == 3);
  CHECK(f.out[0].policy_domain == "relay2.example.net");
  CHECK(f.out[0].recipient_domain == "customer.example");
  CHECK(f.out[0].next_hop_source == NextHopSource::Relayhost);
  CHECK_FALSE(f.out[1].reportable);  // IP literal: Postfix reports nothing
  CHECK(f.out[1].next_hop_source == NextHopSource::Hook);
  CHECK(f.out[2].policy_domain == "gateway.special.example");
  CHECK(f.out[2].policy.type == PolicyType::Sts);
  CHECK(asked == std::vector<std::string>{"relay2.example.net", "192.0.2.99",
                                          "gateway.special.example"});
}
