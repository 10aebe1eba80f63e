#include "daemon/check_domain_command.hpp"

#include "common/clock.hpp"
#include "common/domain.hpp"
#include "check/domain_check.hpp"
#include "check/domain_check_gather.hpp"
#include "common/log.hpp"
#include "daemon/runtime.hpp"
#include "net/openssl_tls_probe.hpp"
#include "postfix/socketmap.hpp"

#include <event2/event.h>
#include <unistd.h>

#include <iostream>
#include <optional>

namespace mtasts::daemon {

using check::checkDomainFindings;
using check::checkDomainVerdict;
using check::DomainCheckGather;
using check::DomainCheckOptions;
using check::DomainFacts;
using check::formatCheckDomainJson;
using check::formatCheckDomainText;
using check::Verdict;

namespace {

// check_ehlo_name, or this host's name when it is empty (a name the receiving MX may
// look up; "localhost" only when the host has no usable name at all).
std::string ehloName(const CheckSettings& s) {
  if (!s.ehlo_name.empty()) return s.ehlo_name;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && isValidHostname(name)) return toLowerAscii(name);
  return "localhost";
}

}  // namespace

int runCheckDomainCommand(const CommandLine& cli, const Settings& settings) {
  if (!cli.verbose) setLogLevel("warn");  // stdout carries the report alone
  auto key = postfix::normalizePolicyKey(cli.domain);
  if (key.domain().empty()) {
    std::cerr << "mtastsd: --check-domain \"" << escapeForLog(cli.domain, 80)
              << "\": not a domain name (" << key.skip_reason << ")\n";
    return ExitUsage;
  }
  auto runtime = Runtime::create(settings);
  if (!runtime) {
    std::cerr << "mtastsd: " << runtime.error().detail << "\n";
    return ExitConfig;
  }
  auto prober = net::OpensslTlsProber::create((*runtime)->base(), settings.https.ca_file);
  if (!prober) {
    std::cerr << "mtastsd: " << prober.error().detail << "\n";
    return ExitConfig;
  }
  DomainCheckOptions options;
  options.domain = std::string(key.domain());
  options.smtp = !cli.no_smtp;
  options.smtp_port = static_cast<std::uint16_t>(settings.check.smtp_port);
  options.ehlo_name = ehloName(settings.check);
  options.smtp_timeout = settings.check.smtp_timeout;
  options.fetch_timeout = settings.policy.fetch_timeout;
  options.max_policy_size = settings.policy.max_policy_size;

  DomainCheckGather gather((*runtime)->dns(), (*runtime)->https(), **prober, options);
  std::optional<DomainFacts> facts;
  gather.start([&](DomainFacts f) { facts = std::move(f); });
  while (!facts) {
    if (event_base_loop((*runtime)->base(), EVLOOP_ONCE) != 0) break;  // nothing left to wait for
  }
  if (!facts) {
    std::cerr << "mtastsd: --check-domain: a lookup never finished\n";
    return ExitOsError;
  }
  const UnixSeconds now = SystemClock().now();
  const auto findings = checkDomainFindings(*facts, now);
  const Verdict verdict = checkDomainVerdict(*facts, findings);
  std::cout << (cli.json ? formatCheckDomainJson(*facts, findings, verdict, now)
                         : formatCheckDomainText(*facts, findings, verdict));
  return verdict.exitCode();
}

}  // namespace mtasts::daemon
