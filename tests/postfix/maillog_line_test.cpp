#include "postfix/maillog_line.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace mtasts::postfix;

namespace {

std::string smtp(std::string_view msg, std::string_view ident = "postfix/smtp") {
  return "Dec 01 00:39:33 sender " + std::string(ident) + "[22096]: " + std::string(msg);
}

struct Want {
  MaillogKind kind;
  TlsTrust trust = TlsTrust::None;
  std::string_view host = {}, address = {};
  unsigned port = 0;
  VerifyFailure verify = VerifyFailure::None;
  int num = 0;
  std::string_view reason = {};
  TlsCondition condition = TlsCondition::None;
};

void check(const std::string& line, const Want& w) {
  CAPTURE(line);
  const MaillogEvent ev = parseMaillogLine(line);
  CHECK(maillogKindName(ev.kind) == maillogKindName(w.kind));
  CHECK(tlsTrustName(ev.trust) == tlsTrustName(w.trust));
  CHECK(ev.peer.host == w.host);
  CHECK(ev.peer.address == w.address);
  CHECK(ev.peer.port == w.port);
  CHECK(static_cast<int>(ev.verify) == static_cast<int>(w.verify));
  CHECK(ev.verify_num == w.num);
  if (!w.reason.empty()) CHECK(ev.reason == w.reason);
  CHECK(static_cast<int>(ev.condition) == static_cast<int>(w.condition));
}

constexpr std::string_view kTail = ": TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
                                   "key-exchange X25519 server-signature ECDSA (prime256v1) "
                                   "server-digest SHA256";

}  // namespace

// Lines copied byte for byte from tests/fixtures/maillog (real Postfix 3.7.11).
TEST_CASE("parser reads the TLS lines real Postfix 3.7 wrote in the test world") {
  const std::string good = "Verified TLS connection established to mx.good.test[127.0.60.1]:25" +
                           std::string(kTail);
  check("Dec 01 00:39:32 sender postfix/smtp[22088]: " + good,
        {MaillogKind::TlsEstablished, TlsTrust::Verified, "mx.good.test", "127.0.60.1", 25});
  check(smtp("server certificate verification failed for mx.badname.test[127.0.60.2]:25: "
             "num=62:hostname mismatch"),
        {MaillogKind::VerifyFailed, TlsTrust::None, "mx.badname.test", "127.0.60.2", 25,
         VerifyFailure::HostnameMismatch, 62, "hostname mismatch"});
  check(smtp("Untrusted TLS connection established to mx.badname.test[127.0.60.2]:25" +
             std::string(kTail)),
        {MaillogKind::TlsEstablished, TlsTrust::Untrusted, "mx.badname.test", "127.0.60.2", 25});
  check(smtp("certificate verification failed for mx.selfsigned.test[127.0.60.3]:25: "
             "self-signed certificate"),
        {MaillogKind::VerifyFailed, TlsTrust::None, "mx.selfsigned.test", "127.0.60.3", 25,
         VerifyFailure::SelfSigned, 18});
  check(smtp("server certificate verification failed for mx.expiredcert.test[127.0.60.4]:25: "
             "certificate has expired"),
        {MaillogKind::VerifyFailed, TlsTrust::None, "mx.expiredcert.test", "127.0.60.4", 25,
         VerifyFailure::Expired, 10});
  check(smtp("certificate verification failed for mx.unknownca.test[127.0.60.6]:25: "
             "untrusted issuer /CN=mtastsd untrusted CA"),
        {MaillogKind::VerifyFailed, TlsTrust::None, "mx.unknownca.test", "127.0.60.6", 25,
         VerifyFailure::UntrustedIssuer, 20, "/CN=mtastsd untrusted CA"});
  check(smtp("Trusted TLS connection established to mx.testing.test[127.0.60.9]:25" +
             std::string(kTail)),
        {MaillogKind::TlsEstablished, TlsTrust::Trusted, "mx.testing.test", "127.0.60.9", 25});
  check(smtp("SSL_connect error to mx.brokentls.test[127.0.60.8]:25: -1"),
        {MaillogKind::HandshakeFailed, TlsTrust::None, "mx.brokentls.test", "127.0.60.8", 25,
         VerifyFailure::None, 0, "-1"});
  check(smtp("connect to mx.refused.test[127.0.60.10]:25: Connection refused"),
        {MaillogKind::ConnectFailed, TlsTrust::None, "mx.refused.test", "127.0.60.10", 25,
         VerifyFailure::None, 0, "Connection refused"});
  check(smtp("Verified TLS connection established to mx.good.test[127.0.60.1]:25" +
                 std::string(kTail),
             "postfix/tlsproxy"),
        {MaillogKind::TlsEstablished, TlsTrust::Verified, "mx.good.test", "127.0.60.1", 25});
  check(smtp("Verified TLS connection reused to mx.good.test[127.0.60.1]:25" + std::string(kTail)),
        {MaillogKind::TlsReused, TlsTrust::Verified, "mx.good.test", "127.0.60.1", 25});
  // Unused texts of the same processes.
  check(smtp("warning: TLS library problem: error:0A000410:SSL routines::sslv3 alert handshake "
             "failure:../ssl/record/rec_layer_s3.c:1601:SSL alert number 40:"),
        {MaillogKind::Unrecognised});
  check(smtp("warning: connect to 127.0.0.1:34231: Connection refused"), {MaillogKind::Unrecognised});
  check(smtp("CONNECT to [127.0.60.11]:25", "postfix/tlsproxy"), {MaillogKind::Unrecognised});
  check(smtp("DISCONNECT [127.0.60.3]:25", "postfix/tlsproxy"), {MaillogKind::Unrecognised});
}

TEST_CASE("parser reads the status and skipped-server lines real Postfix 3.7 wrote") {
  struct Case {
    std::string line;
    MaillogKind kind;
    std::string_view qid, recipient, domain, relay_host;
    unsigned port, conn_use;
    DeliveryState state;
    TlsCondition condition;
    std::string_view condition_host;
  };
  const Case cases[] = {
      {smtp("D791CA7299F: to=<user@good.test>, relay=mx.good.test[127.0.60.1]:25, delay=0.2, "
            "delays=0.05/0.05/0.04/0.06, dsn=2.0.0, status=sent (250 2.0.0 OK stored by "
            "mx.good.test)"),
       MaillogKind::DeliveryStatus, "D791CA7299F", "user@good.test", "good.test", "mx.good.test",
       25, 0, DeliveryState::Sent, TlsCondition::None, ""},
      {smtp("0B06EA72179: to=<User@BadName.Test>, relay=mx.BadName.Test[127.0.60.2]:25, "
            "delay=0.07, delays=0.03/0/0.04/0, dsn=4.7.5, status=deferred (Server certificate "
            "not verified)"),
       MaillogKind::DeliveryStatus, "0B06EA72179", "User@BadName.Test", "BadName.Test",
       "mx.BadName.Test", 25, 0, DeliveryState::Deferred, TlsCondition::CertNotVerified, ""},
      {smtp("2FAAAA729AB: to=<user@nostarttls.test>, relay=mx.nostarttls.test[127.0.60.5]:25, "
            "delay=0.02, delays=0.02/0/0/0, dsn=4.7.4, status=deferred (TLS is required, but "
            "was not offered by host mx.nostarttls.test[127.0.60.5])"),
       MaillogKind::DeliveryStatus, "2FAAAA729AB", "user@nostarttls.test", "nostarttls.test",
       "mx.nostarttls.test", 25, 0, DeliveryState::Deferred, TlsCondition::StarttlsNotOffered,
       "mx.nostarttls.test"},
      {smtp("4C6D3A72339: to=<user@brokentls.test>, relay=mx.brokentls.test[127.0.60.8]:25, "
            "delay=0.1, delays=0.01/0/0.09/0, dsn=4.7.5, status=deferred (Cannot start TLS: "
            "handshake failure)"),
       MaillogKind::DeliveryStatus, "4C6D3A72339", "user@brokentls.test", "brokentls.test",
       "mx.brokentls.test", 25, 0, DeliveryState::Deferred, TlsCondition::HandshakeFailed, ""},
      {smtp("5EC06A728EF: to=<user@refused.test>, relay=none, delay=0.05, "
            "delays=0.02/0.01/0.03/0, dsn=4.4.1, status=deferred (connect to "
            "mx.refused.test[127.0.60.10]:25: Connection refused)"),
       MaillogKind::DeliveryStatus, "5EC06A728EF", "user@refused.test", "refused.test", "", 0, 0,
       DeliveryState::Deferred, TlsCondition::None, ""},
      {smtp("8BDC7A729B1: to=<user@restart.test>, relay=none, delay=0.02, delays=0.02/0/0/0, "
            "dsn=4.7.5, status=deferred (client TLS configuration problem)"),
       MaillogKind::DeliveryStatus, "8BDC7A729B1", "user@restart.test", "restart.test", "", 0, 0,
       DeliveryState::Deferred, TlsCondition::PolicyLookupFailed, ""},
      {smtp("CFA8AA72E1B: to=<user@good.test>, relay=mx.good.test[127.0.60.1]:25, conn_use=2, "
            "delay=0.04, delays=0.04/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 OK stored by "
            "mx.good.test)"),
       MaillogKind::DeliveryStatus, "CFA8AA72E1B", "user@good.test", "good.test", "mx.good.test",
       25, 2, DeliveryState::Sent, TlsCondition::None, ""},
      {smtp("3E613A729B1: Server certificate not verified"), MaillogKind::ServerSkipped,
       "3E613A729B1", "", "", "", 0, 0, DeliveryState::Other, TlsCondition::CertNotVerified, ""},
      {smtp("487DAA7233D: TLS is required, but was not offered by host "
            "mx.twonostarttls.test[127.0.60.7]"),
       MaillogKind::ServerSkipped, "487DAA7233D", "", "", "", 0, 0, DeliveryState::Other,
       TlsCondition::StarttlsNotOffered, "mx.twonostarttls.test"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    const MaillogEvent ev = parseMaillogLine(c.line);
    CHECK(maillogKindName(ev.kind) == maillogKindName(c.kind));
    CHECK(ev.queue_id == c.qid);
    CHECK(ev.recipient == c.recipient);
    CHECK(ev.recipient_domain == c.domain);
    CHECK(ev.peer.host == c.relay_host);
    CHECK(ev.peer.port == c.port);
    CHECK(ev.conn_use == c.conn_use);
    CHECK(static_cast<int>(ev.state) == static_cast<int>(c.state));
    CHECK(static_cast<int>(ev.condition) == static_cast<int>(c.condition));
    CHECK(ev.condition_peer.host == c.condition_host);
  }
}

// Every line of every fixture file, against a plain substring oracle: the parser finds each
// TLS summary, verification failure and status line of smtp/tlsproxy, and no line is malformed.
TEST_CASE("parser classifies every line of the real Postfix 3.7 fixture logs") {
  const char* files[] = {"postfix-3.7-e2e.log", "postfix-3.7-capture.log",
                         "postfix-3.7-tlsproxy.log", "postfix-3.7-relayhost.log"};
  for (const char* name : files) {
    CAPTURE(name);
    std::ifstream in(std::string(MTASTS_MAILLOG_FIXTURES) + "/" + name);
    REQUIRE(in.good());
    std::string line;
    std::size_t lines = 0;
    while (std::getline(in, line)) {
      ++lines;
      CAPTURE(line);
      const bool ours = line.find(" postfix/smtp[") != std::string::npos ||
                        line.find(" postfix/tlsproxy[") != std::string::npos;
      const MaillogEvent ev = parseMaillogLine(line);
      CHECK(ev.kind != MaillogKind::Malformed);
      if (!ours) {
        CHECK(ev.kind == MaillogKind::NotPostfix);
        continue;
      }
      const auto has = [&](std::string_view s) { return line.find(s) != std::string::npos; };
      if (has("TLS connection established to ")) CHECK(ev.kind == MaillogKind::TlsEstablished);
      if (has("TLS connection reused to ")) CHECK(ev.kind == MaillogKind::TlsReused);
      if (has("certificate verification failed for ")) CHECK(ev.kind == MaillogKind::VerifyFailed);
      if (has(": to=<") && has(", status=")) CHECK(ev.kind == MaillogKind::DeliveryStatus);
      if (has("SSL_connect error to ")) CHECK(ev.kind == MaillogKind::HandshakeFailed);
      if (has("]: connect to ")) CHECK(ev.kind == MaillogKind::ConnectFailed);
      if (has("]: warning: ")) CHECK(ev.kind == MaillogKind::Unrecognised);
    }
    CHECK(lines > 10);
  }
}
