// The command line and keys of the receiving-side commands: --check-domain DOMAIN [--json]
// [--no-smtp] with its check_* keys, and --read-reports, whose own arguments are handed on
// untouched.
#include "daemon/cli.hpp"
#include "daemon/config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::daemon;
using namespace std::chrono_literals;

TEST_CASE("--check-domain takes a domain, --json and --no-smtp, and excludes the other commands") {
  struct Case {
    std::vector<std::string> args;
    bool ok;
    bool json;
    bool no_smtp;
  };
  const Case cases[] = {
      {{"--check-domain", "example.com"}, true, false, false},
      {{"--check-domain", "example.com", "--json", "--no-smtp"}, true, true, true},
      {{"--no-smtp", "-o", "check_smtp_port=2525", "--check-domain", "example.com"}, true, false, true},
      {{"--check-domain"}, false, false, false},
      {{"--check-domain", "a.test", "--query", "b.test"}, false, false, false},
      {{"--check-domain", "a.test", "--read-reports", "x"}, false, false, false},
      {{"--no-smtp", "--query", "a.test"}, false, false, false},
      {{"--no-smtp"}, false, false, false},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    CAPTURE(joined);
    auto cli = parseCommandLine(c.args);
    REQUIRE(cli.has_value() == c.ok);
    if (!c.ok) continue;
    CHECK(cli->command == Command::CheckDomain);
    CHECK(cli->domain.find(".") != std::string::npos);
    CHECK(cli->json == c.json);
    CHECK(cli->no_smtp == c.no_smtp);
  }
}

TEST_CASE("--read-reports hands every argument after it to the command, --json before it too") {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {{"--read-reports", "--since", "7", "/var/mail/tlsrpt"}, {"--since", "7", "/var/mail/tlsrpt"}},
      {{"--json", "--read-reports", "a", "b"}, {"--json", "a", "b"}},
      // After the flag everything is the command's, even what looks like one of ours.
      {{"-v", "--read-reports", "--", "--dump", "-c"}, {"--", "--dump", "-c"}},
      {{"--read-reports"}, {}},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    CAPTURE(joined);
    auto cli = parseCommandLine(c.args);
    REQUIRE(cli.has_value());
    CHECK(cli->command == Command::ReadReports);
    CHECK(cli->command_args == c.want);
  }
  CHECK_FALSE(parseCommandLine({"--dump", "--read-reports", "x"}).has_value());
  CHECK_FALSE(parseCommandLine({"--no-smtp", "--read-reports", "x"}).has_value());
}

TEST_CASE("the check_* keys: an EHLO name must be a host name, the port 1 to 65535, the timeout bounded") {
  std::vector<std::string> errors;
  auto defaults = parseConfig("", "f", {}, errors);
  REQUIRE(defaults.has_value());
  CHECK(defaults->check.ehlo_name.empty());
  CHECK(defaults->check.smtp_port == 25);
  CHECK(defaults->check.smtp_timeout == 30s);

  auto set = parseConfig("check_ehlo_name = checker.example.org\ncheck_smtp_port = 2525\ncheck_smtp_timeout = 500ms\n",
                         "f", {}, errors);
  REQUIRE(set.has_value());
  CHECK(set->check.ehlo_name == "checker.example.org");
  CHECK(set->check.smtp_port == 2525);
  CHECK(set->check.smtp_timeout == 500ms);

  for (const char* bad : {"check_ehlo_name = not a name", "check_ehlo_name = [192.0.2.1]", "check_smtp_port = 0",
                          "check_smtp_port = 65536", "check_smtp_timeout = 0", "check_smtp_timeout = 1h"}) {
    CAPTURE(bad);
    errors.clear();
    CHECK_FALSE(parseConfig(bad, "f", {}, errors).has_value());
    CHECK(errors.size() == 1);
  }
}
