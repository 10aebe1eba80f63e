// The report command line and keys: --report [--day] [--domain] [--dry-run --out DIR], what
// --check-config says reporting still needs, and the report keys' defaults and checks.
#include "daemon/cli.hpp"
#include "daemon/config.hpp"
#include "daemon/report_component.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::daemon;
using namespace std::chrono_literals;

TEST_CASE("--report takes --day, --domain and --dry-run with --out, and excludes the other commands") {
  struct Case {
    std::vector<std::string> args;
    bool ok;
  };
  const Case cases[] = {
      {{"--report"}, true},
      {{"--report", "--day", "2026-11-30", "--domain", "example.com"}, true},
      {{"--dry-run", "--out", "/tmp/x", "--report"}, true},
      {{"--report", "--dry-run"}, false},
      {{"--report", "--out", "/tmp/x"}, false},
      {{"--report", "--day", "2026-13-01"}, false},
      {{"--report", "--query", "a.test"}, false},
      {{"--report", "--tlsrpt-status"}, false},
      {{"--report", "--json"}, false},
      {{"--domain", "a.test"}, false},
      {{"--dry-run", "--out", "/tmp/x", "--tlsrpt-status"}, false},
      {{"--report", "--domain"}, false},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    CAPTURE(joined);
    auto cli = parseCommandLine(c.args);
    REQUIRE(cli.has_value() == c.ok);
    if (c.ok) CHECK(cli->command == Command::Report);
  }
  auto cli = parseCommandLine({"--report", "--day", "2026-11-30", "--domain", "example.com", "--dry-run", "--out", "d"});
  REQUIRE(cli);
  CHECK(cli->day == "2026-11-30");
  CHECK(cli->report_domain == "example.com");
  CHECK(cli->dry_run);
  CHECK(cli->out_dir == "d");
}

TEST_CASE("the report keys default to reporting off, 4h delay, 24h retry and Postfix's sendmail") {
  std::vector<std::string> errors;
  auto s = parseConfig("", "test.conf", {}, errors);
  REQUIRE(s);
  CHECK(s->tlsrpt.report_delay == 4h);
  CHECK(s->tlsrpt.report_retry == 24h);
  CHECK(s->tlsrpt.report_retry_interval == 5min);
  CHECK(s->tlsrpt.sendmail == "/usr/sbin/sendmail -i -f FROM -- TO");
  const std::string status = reportingStatus(s->tlsrpt);
  CHECK(status.find("not sent") != std::string::npos);
  CHECK(status.find("tlsrpt_organization_name") != std::string::npos);
  CHECK(status.find("tlsrpt_contact_info") != std::string::npos);
  CHECK(status.find("tlsrpt_report_from") != std::string::npos);
}

TEST_CASE("with the three keys reporting is on and the submitter is contact-info's domain") {
  std::vector<std::string> errors;
  auto s = parseConfig("tlsrpt_organization_name = Example Org\ntlsrpt_contact_info = tlsrpt@Example.ORG\n"
                       "tlsrpt_report_from = noreply@example.org\n",
                       "test.conf", {}, errors);
  REQUIRE(s);
  CHECK(reportingStatus(s->tlsrpt).find("sent, submitter example.org") != std::string::npos);
  auto options = reportServiceOptions(s->tlsrpt);
  REQUIRE(options);
  CHECK(options->sender.identity.submitter == "example.org");
  CHECK(options->sender.mail.dkim_domain == "example.org");
  CHECK(options->sender.retry.window == 86400);
  CHECK(options->sender.max_delay == 4 * 3600);
  CHECK(options->sender.mail.signers.empty());
}

TEST_CASE("bad report key values are refused with the key named") {
  const char* bad[] = {
      "tlsrpt_contact_info = not-an-address",
      "tlsrpt_report_from = a b@example.org",
      "tlsrpt_sendmail = sendmail -i -f FROM -- TO",
      "tlsrpt_sendmail = /usr/sbin/sendmail -i",
      "tlsrpt_dkim_key = relative.pem",
      "tlsrpt_dkim_selector = -bad-",
      "tlsrpt_organization_name = tab\there",
      "tlsrpt_report_delay = 21h",
      "tlsrpt_report_retry = 30s",
  };
  for (const char* line : bad) {
    CAPTURE(line);
    std::vector<std::string> errors;
    CHECK_FALSE(parseConfig(line, "test.conf", {}, errors));
    REQUIRE(errors.size() == 1);
    const std::string key(line, std::string_view(line).find(' '));
    CHECK(errors[0].find(key) != std::string::npos);
  }
}

TEST_CASE("a DKIM key without its selector, or one that cannot be read, keeps reporting off with the reason") {
  std::vector<std::string> errors;
  auto s = parseConfig("tlsrpt_organization_name = O\ntlsrpt_contact_info = a@example.org\n"
                       "tlsrpt_report_from = b@example.org\ntlsrpt_dkim_key = /nonexistent/key.pem\n",
                       "test.conf", {}, errors);
  REQUIRE(s);
  CHECK(reportingStatus(s->tlsrpt).find("tlsrpt_dkim_selector") != std::string::npos);
  s->tlsrpt.dkim_selector = {"sel"};
  const std::string status = reportingStatus(s->tlsrpt);
  CHECK(status.find("not sent") != std::string::npos);
  CHECK(status.find("/nonexistent/key.pem") != std::string::npos);
}
