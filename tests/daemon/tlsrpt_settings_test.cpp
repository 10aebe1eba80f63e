// The tlsrpt_* keys: defaults, bounds and validators as the table declares them, their mapping
// onto the collection's options, and the --tlsrpt-status command line.
#include "daemon/cli.hpp"
#include "daemon/config.hpp"
#include "daemon/tlsrpt_component.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::daemon;
using namespace std::chrono_literals;

namespace {

Result<Settings> parse(const std::vector<std::string>& overrides, std::vector<std::string>& errors) {
  return parseConfig("", "test.conf", overrides, errors);
}

}  // namespace

TEST_CASE("the tlsrpt keys default to collection off, with the documented bounds") {
  const Settings s = defaultSettings();
  CHECK(s.tlsrpt.socket.empty());
  CHECK(s.tlsrpt.socket_mode == 0660);
  CHECK(s.tlsrpt.socket_group == "postfix");
  CHECK(s.tlsrpt.commit_interval == 1s);
  CHECK(s.tlsrpt.keep_days == 7);
  CHECK(s.tlsrpt.max_detail_rows == 100);
  CHECK(s.tlsrpt.max_domains_per_day == 20000);
  CHECK(s.tlsrpt.max_policies_per_domain == 32);
  CHECK(s.tlsrpt.datagram_batch == 32);
  CHECK(s.tlsrpt.read_delay == 2ms);
  CHECK(s.tlsrpt.maillog.empty());
  CHECK(s.tlsrpt.relayhost.empty());
  CHECK(s.tlsrpt.maillog_max_line == 16384);
  CHECK(s.tlsrpt.maillog_rotate_wait == 10s);
  CHECK(s.tlsrpt.maillog_batch_interval == 1s);
  CHECK(s.tlsrpt.maillog_quiescent_wait == 10s);
  CHECK(s.tlsrpt.maillog_poll_interval == 1s);
  for (const auto& key : configKeys()) {
    if (key.name.starts_with("tlsrpt_") && key.name != "tlsrpt_map_names") {
      CAPTURE(key.name);
      CHECK_FALSE(key.reloadable);  // the socket, the source and the bounds are fixed at start
    }
  }
}

TEST_CASE("tlsrpt values are checked: socket path, mail-log source, relayhost, bounds") {
  struct Case {
    std::string assignment;
    bool ok;
  };
  const Case cases[] = {
      {"tlsrpt_socket=/var/spool/postfix/run/mtastsd/tlsrpt.sock", true},
      {"tlsrpt_socket=run/mtastsd/tlsrpt.sock", false},
      {"tlsrpt_socket=/" + std::string(107, 'a'), false},
      {"tlsrpt_socket=/" + std::string(106, 'a'), true},
      {"tlsrpt_maillog=journal", true},
      {"tlsrpt_maillog=/var/log/mail.log", true},
      {"tlsrpt_maillog=mail.log", false},
      {"tlsrpt_maillog=Journal", false},
      {"tlsrpt_relayhost=[smtp.example.net]:587", true},
      {"tlsrpt_relayhost=[a.example]:587, [b.example]:587", true},
      {"tlsrpt_commit_interval=100ms", true},
      {"tlsrpt_commit_interval=50ms", false},
      {"tlsrpt_commit_interval=2m", false},
      {"tlsrpt_keep_days=1", false},
      {"tlsrpt_keep_days=366", true},
      {"tlsrpt_read_delay=0", true},
      {"tlsrpt_read_delay=11ms", false},
      {"tlsrpt_datagram_batch=1025", false},
      {"tlsrpt_max_detail_rows=0", false},
      {"tlsrpt_socket_mode=0777", true},
      {"tlsrpt_socket_mode=999", false},
      {"tlsrpt_maillog_max_line=512", false},
      {"tlsrpt_maillog_quiescent_wait=0", true},
      {"tlsrpt_maillog_poll_interval=50ms", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.assignment);
    std::vector<std::string> errors;
    CHECK(parse({c.assignment}, errors).has_value() == c.ok);
  }
}

TEST_CASE("the tlsrpt section becomes the collection's options") {
  std::vector<std::string> errors;
  auto s = parse({"tlsrpt_socket=/run/t.sock", "tlsrpt_socket_group=mail", "tlsrpt_read_delay=3ms",
                  "tlsrpt_datagram_batch=64", "tlsrpt_maillog=journal", "tlsrpt_relayhost=[relay.example]:25",
                  "tlsrpt_commit_interval=250ms", "tlsrpt_keep_days=3", "tlsrpt_maillog_rotate_wait=30s",
                  "tlsrpt_max_domains_per_day=5", "strict_testing=yes", "dane_without_sts=yes"},
                 errors);
  REQUIRE(s);
  const tlsrpt::CollectionOptions o = collectionOptions(s->tlsrpt, verdictRules(*s));
  REQUIRE(o.datagrams.has_value());
  CHECK(o.datagrams->path == "/run/t.sock");
  CHECK(o.datagrams->permissions.mode == 0660);
  CHECK(o.datagrams->permissions.group == "mail");
  CHECK(o.datagrams->coalesce == 3000us);
  CHECK(o.datagrams->batch == 64);
  CHECK(o.maillog == "journal");
  CHECK(o.maillog_collector.pump.sessions.relayhost == "[relay.example]:25");
  CHECK(o.committer.interval == 250ms);
  CHECK(o.committer.keep_days == 3);
  CHECK(o.file.rotate_wait == 30);
  CHECK(o.limits.max_domains_per_day == 5);
  CHECK(o.verdict_rules == tlsrpt::VerdictRules{true, true, true});  // dane = auto by default
  CHECK(verdictRules(defaultSettings()) == tlsrpt::VerdictRules{false, true, false});
  CHECK_FALSE(collectionOptions(defaultSettings().tlsrpt, {}).datagrams.has_value());
}

TEST_CASE("--tlsrpt-status takes --day and --json, and --day goes with nothing else") {
  auto plain = parseCommandLine({"--tlsrpt-status"});
  REQUIRE(plain);
  CHECK(plain->command == Command::TlsrptStatus);
  CHECK(plain->day.empty());
  auto day = parseCommandLine({"--tlsrpt-status", "--day", "2026-11-29", "--json"});
  REQUIRE(day);
  CHECK(day->command == Command::TlsrptStatus);
  CHECK(day->day == "2026-11-29");
  CHECK(day->json);
  CHECK_FALSE(parseCommandLine({"--tlsrpt-status", "--day", "2026-02-30"}));
  CHECK_FALSE(parseCommandLine({"--tlsrpt-status", "--day"}));
  CHECK_FALSE(parseCommandLine({"--dump", "--day", "2026-11-29"}));
  CHECK_FALSE(parseCommandLine({"--tlsrpt-status", "--dump"}));
}
