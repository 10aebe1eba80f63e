// `mtastsd --check-domain DOMAIN`: the pre-flight check of a domain's own MTA-STS and TLSRPT
// publication. What the network showed is gathered into DomainFacts (domain_check_gather.hpp);
// the pure functions here turn it into Findings, each with a severity, a check id, a message
// and a one-line fix, and into the closing Verdict with its exit status. No I/O, no clock (now
// is passed in), so every rule is table-tested with made-up facts. Output formats live in
// domain_check_report.cpp.
#pragma once

#include "common/clock.hpp"
#include "net/dns_client.hpp"
#include "net/https_client.hpp"
#include "net/tls_probe.hpp"
#include "sts/policy.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::check {

// ----- what was seen -----

struct ProbedAddress {
  std::string address;
  net::TlsProbeResult result;
};

struct MxHostFacts {
  std::uint16_t preference = 0;
  std::string host;                    // lower case; the domain itself for an implicit MX
  net::AddressAnswer addresses;        // looked up only when SMTP is probed
  std::vector<ProbedAddress> probes;   // one per address probed (at most MaxProbedAddresses)
};

struct DomainFacts {
  std::string domain;
  net::TxtAnswer sts_txt;              // _mta-sts.<domain>
  net::AddressAnswer policy_host;      // mta-sts.<domain>
  std::vector<ProbedAddress> policy_host_tls;  // TLS on port 443 of each address probed
  std::optional<net::HttpsResult> fetch;       // absent: no address to fetch from
  net::MxAnswer mx;                    // <domain> MX
  std::vector<MxHostFacts> mx_hosts;   // by preference then name; [domain] for an implicit MX
  net::TxtAnswer tlsrpt_txt;           // _smtp._tls.<domain>
  bool smtp_checked = true;            // false with --no-smtp
  std::uint16_t smtp_port = 25;
};

inline constexpr std::size_t MaxProbedMxHosts = 10;
inline constexpr std::size_t MaxProbedAddresses = 4;

// ----- what it means -----

enum class Severity { Ok, Warning, Error };
std::string_view severityName(Severity severity) noexcept;  // "ok", "warning", "error"

struct Finding {
  Severity severity = Severity::Ok;
  std::string check;    // stable id: "sts.txt", "sts.policy", "mx.match", "smtp.cert.name", ...
  std::string subject;  // what it is about: "_mta-sts.example.com", "mx.example.com[192.0.2.1]"
  std::string message;
  std::string fix;      // one line; empty for ok
  // Mail to this domain would be deferred under mode enforce (an error under enforce, a
  // warning under testing or none): the verdict is "testing only" while one is left.
  bool blocks_enforce = false;
  bool operator==(const Finding&) const = default;
};

// The closing line. Exit status: 0 ready for enforce, 1 testing only, 2 not ready.
enum class Readiness { ReadyForEnforce = 0, TestingOnly = 1, NotReady = 2 };
std::string_view readinessName(Readiness readiness) noexcept;  // "ready for enforce", ...

struct Verdict {
  Readiness readiness = Readiness::NotReady;
  std::string summary;
  int exitCode() const noexcept { return static_cast<int>(readiness); }
};

inline constexpr std::int64_t ExpiryWarningDays = 14;
inline constexpr std::int64_t ShortMaxAge = 86'400;  // under one day: a warning under enforce

// Every finding, in the order printed: the _mta-sts record, the policy host (addresses,
// TLS and certificate per address, the fetch), the policy, the MX records and per MX host
// its match and its SMTP probes, then the _smtp._tls record.
std::vector<Finding> checkDomainFindings(const DomainFacts& facts, UnixSeconds now);

// The builders checkDomainFindings() is made of, for the tests.
std::vector<Finding> stsRecordFindings(const DomainFacts& facts);
std::vector<Finding> policyHostFindings(const DomainFacts& facts, UnixSeconds now);
// The policy when the fetch gave a policy document and it parsed.
std::optional<sts::Policy> fetchedPolicy(const DomainFacts& facts);
std::vector<Finding> policyFindings(const DomainFacts& facts);
std::vector<Finding> mxFindings(const DomainFacts& facts, const std::optional<sts::Policy>& policy, UnixSeconds now);
std::vector<Finding> tlsRptFindings(const DomainFacts& facts);
// name, chain and expiry of one certificate; `check` is "sts.cert" or "smtp.cert". With
// `problem` Error the failures are errors (and block enforce when `blocks`), else warnings.
std::vector<Finding> certificateFindings(const std::string& check, const std::string& subject,
                                         const std::string& host, const net::CertificateFacts& cert,
                                         UnixSeconds now, Severity problem, bool blocks);

// ready for enforce: no error and nothing that blocks enforce; not ready: an error in the
// MTA-STS publication (sts.*) or the MX lookup (mx.dns), so senders find no usable policy;
// testing only: everything else.
Verdict checkDomainVerdict(const DomainFacts& facts, const std::vector<Finding>& findings);

// The report: aligned text for people, or JSON for scripts ({"domain", "checked_at" (the
// `now` the findings were judged at, "2026-12-01T03:04:05Z"), "smtp_checked", "findings":
// [{"severity", "check", "subject", "message", "fix"}], "result": {"verdict", "exit_code",
// "summary"}}).
std::string formatCheckDomainText(const DomainFacts& facts, const std::vector<Finding>& findings,
                                  const Verdict& verdict);
std::string formatCheckDomainJson(const DomainFacts& facts, const std::vector<Finding>& findings,
                                  const Verdict& verdict, UnixSeconds now);

}  // namespace mtasts::check
