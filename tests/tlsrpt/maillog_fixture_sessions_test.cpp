// The real Postfix 3.7 logs of tests/fixtures/maillog through parser and correlator: the
// sessions must be exactly the TLS handshakes (and STARTTLS-less connections) the log shows,
// with the result types Postfix 3.11 put in its datagrams for the same receivers.
#include "postfix/maillog_line.hpp"
#include "tlsrpt/maillog_sessions.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

struct Want {
  std::string_view domain, mx_host;
  std::string_view result;  // "success" or the RFC 8460 result type
  std::string_view reason = {};
  Enforcement enforcement = Enforcement::Enforced;
};

std::vector<MaillogSession> replay(const char* name, MaillogSessions& sessions) {
  std::ifstream in(std::string(MTASTS_MAILLOG_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::vector<MaillogSession> out;
  std::string line;
  UnixSeconds now = 1'764'547'200;
  while (std::getline(in, line)) sessions.feed(postfix::parseMaillogLine(line), now++, out);
  return out;
}

void expect(const std::vector<MaillogSession>& got, const std::vector<Want>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    const MaillogSession& s = got[i];
    const std::string_view result =
        s.success ? std::string_view("success") : tlsRptResultTypeName(s.failure.result);
    CHECK(s.policy_domain == want[i].domain);
    CHECK(s.mx_host == want[i].mx_host);
    CHECK(result == want[i].result);
    CHECK(s.failure.failure_reason_code == want[i].reason);
    CHECK(static_cast<int>(s.enforcement) == static_cast<int>(want[i].enforcement));
    CHECK(s.reportable);
    if (!s.success) {
      CHECK(s.failure.receiving_mx_hostname == s.mx_host);
      CHECK(s.failure.receiving_ip == s.mx_ip);
      CHECK(s.failure.sending_mta_ip.empty());  // not in the log
    }
  }
}

constexpr auto Opportunistic = Enforcement::NotEnforced;
constexpr auto Unknown = Enforcement::Unknown;

}  // namespace

TEST_CASE("the e2e log gives one session per handshake with Postfix 3.11's result types") {
  MaillogSessions sessions;
  const auto got = replay("postfix-3.7-e2e.log", sessions);
  expect(got, {
      {"badname.test", "mx.badname.test", "certificate-host-mismatch"},
      {"good.test", "mx.good.test", "success"},
      {"good.test", "mx.good.test", "success"},  // User@GOOD.Test
      {"badname.test", "mx.badname.test", "certificate-host-mismatch"},
      {"selfsigned.test", "mx.selfsigned.test", "validation-failure", "self-signed_certificate"},
      {"expiredcert.test", "mx.expiredcert.test", "certificate-expired"},
      {"nostarttls.test", "mx.nostarttls.test", "starttls-not-supported"},
      {"mxmismatch.test", "rogue.mxmismatch.test", "certificate-host-mismatch"},
      {"mxfallback.test", "rogue.mxfallback.test", "certificate-host-mismatch"},
      {"mxfallback.test", "mx.mxfallback.test", "success"},
      {"norecord.test", "mx.norecord.test", "success", "", Opportunistic},
      {"testing.test", "mx.testing.test", "success", "", Opportunistic},
      {"restart.test", "mx.restart.test", "success"},
      // the deferred mail, retried
      {"nostarttls.test", "mx.nostarttls.test", "starttls-not-supported"},
      {"badname.test", "mx.badname.test", "certificate-host-mismatch"},
      {"mxmismatch.test", "rogue.mxmismatch.test", "certificate-host-mismatch"},
      {"expiredcert.test", "mx.expiredcert.test", "certificate-expired"},
      {"restart.test", "mx.restart.test", "success"},
      {"selfsigned.test", "mx.selfsigned.test", "validation-failure", "self-signed_certificate"},
      {"badname.test", "mx.badname.test", "certificate-host-mismatch"},
  });
  // 18 "TLS connection established" lines + 2 "not offered" = 20; the policy-server outage
  // (relay=none, "client TLS configuration problem") made no connection.
  CHECK(sessions.counters().sessions == 20);
  CHECK(sessions.counters().status_without_tls == 1);
  CHECK(sessions.pendingHandshakes() == 0);
}

TEST_CASE("the capture log counts a two-recipient message once and every STARTTLS-less MX") {
  MaillogSessions sessions;
  const auto got = replay("postfix-3.7-capture.log", sessions);
  expect(got, {
      {"good.test", "mx.good.test", "success"},
      {"badname.test", "mx.badname.test", "certificate-host-mismatch"},
      {"selfsigned.test", "mx.selfsigned.test", "validation-failure", "self-signed_certificate"},
      {"expiredcert.test", "mx.expiredcert.test", "certificate-expired"},
      {"unknownca.test", "mx.unknownca.test", "validation-failure",
       "unable_to_get_local_issuer_certificate"},
      {"nostarttls.test", "mx.nostarttls.test", "starttls-not-supported"},
      {"brokenmay.test", "mx.brokenmay.test", "validation-failure", "tls-handshake-failure",
       Unknown},
      {"twonostarttls.test", "mx.twonostarttls.test", "starttls-not-supported"},
      {"twonostarttls.test", "mx2.twonostarttls.test", "starttls-not-supported"},
      {"brokentls.test", "mx.brokentls.test", "validation-failure", "tls-handshake-failure",
       Unknown},
      {"norecord.test", "mx.norecord.test", "success", "", Opportunistic},
  });
  CHECK(sessions.counters().repeated_status_lines == 1);  // user2@good.test
  CHECK(sessions.counters().status_without_tls == 2);     // refused.test, plain.test
}

TEST_CASE("tlsproxy lines lend their details to the smtp line and reused connections count "
          "nothing") {
  MaillogSessions sessions;
  const auto got = replay("postfix-3.7-tlsproxy.log", sessions);
  expect(got, {
      {"good.test", "mx.good.test", "success"},
      {"norecord.test", "mx.norecord.test", "success", "", Opportunistic},
      {"selfsigned.test", "mx.selfsigned.test", "validation-failure", "self-signed_certificate"},
      {"selfsigned.test", "mx.selfsigned.test", "validation-failure", "self-signed_certificate"},
  });
  for (const auto& s : got) CHECK(s.via_tlsproxy);
  CHECK(sessions.counters().reused_connections == 4);
  CHECK(sessions.pendingHandshakes() == 0);  // every tlsproxy line was claimed
}

TEST_CASE("with a relayhost the sessions belong to the relay host, as Postfix 3.10 reports") {
  SUBCASE("the log alone names the recipient domains, which is wrong for a relayhost") {
    MaillogSessions sessions;
    const auto got = replay("postfix-3.7-relayhost.log", sessions);
    expect(got, {{"norecord.test", "mx.good.test", "success", "", Opportunistic},
                 {"elsewhere.test", "mx.good.test", "success", "", Opportunistic}});
  }
  SUBCASE("the configured relayhost gives the next hop") {
    MaillogSessionsConfig config;
    config.relayhost = "[mx.good.test]:25";
    MaillogSessions sessions(config);
    const auto got = replay("postfix-3.7-relayhost.log", sessions);
    expect(got, {{"mx.good.test", "mx.good.test", "success", "", Opportunistic},
                 {"mx.good.test", "mx.good.test", "success", "", Opportunistic}});
    for (const auto& s : got) CHECK(s.next_hop_source == NextHopSource::Relayhost);
  }
}
