// The MTA-STS publication's findings: the _mta-sts record, the policy host (addresses, TLS,
// certificate, the fetch) and the policy itself. Pure (see domain_check.hpp).
#include "check/domain_check.hpp"
#include "check/domain_check_text.hpp"

#include "common/log.hpp"
#include "net/http_response_parser.hpp"
#include "policy/policy_fetch.hpp"
#include "sts/policy_parser.hpp"
#include "sts/txt_record.hpp"

#include <fmt/format.h>

#include <variant>

namespace mtasts::check {
namespace {

std::string policyUrl(const std::string& domain) {
  return fmt::format("https://mta-sts.{}{}", domain, policy::PolicyPath);
}

// What a sender's rules make of the TXT RRset, told to the one who published it.
Finding stsRecordFinding(const DomainFacts& f) {
  const std::string subject = "_mta-sts." + f.domain;
  const std::string publish = fmt::format("publish one TXT record _mta-sts.{} \"v=STSv1; id=<1-32 letters or digits, "
                                          "changed with every policy change>\"",
                                          f.domain);
  switch (f.sts_txt.status) {
    case net::DnsStatus::Failed:
      return problem(Severity::Error, "sts.txt", subject,
                     fmt::format("TXT lookup failed ({}): senders cannot tell whether there is a policy",
                                 orUnknown(f.sts_txt.detail)),
                     "make the name servers of the zone answer for _mta-sts." + f.domain);
    case net::DnsStatus::NoRecord:
      return problem(Severity::Error, "sts.txt", subject, "no TXT record: senders see no MTA-STS policy", publish);
    case net::DnsStatus::Ok:
      break;
  }
  std::vector<std::string> sts;
  std::vector<std::string> near_misses;  // "v=STSv1" without the ';' senders look for
  for (const auto& rr : f.sts_txt.records) {
    std::string joined = joinStrings(rr);
    if (sts::looksLikeStsRecord(joined)) {
      sts.push_back(std::move(joined));
    } else if (joined.rfind("v=STSv1", 0) == 0) {
      near_misses.push_back(std::move(joined));
    }
  }
  if (sts.empty() && !near_misses.empty()) {
    return problem(Severity::Error, "sts.txt", subject,
                   fmt::format("\"{}\" is discarded by senders: v=STSv1 must be followed by ';'",
                               escapeForLog(near_misses.front(), 100)),
                   "write it as \"v=STSv1; id=...\"");
  }
  if (sts.empty()) {
    return problem(Severity::Error, "sts.txt", subject,
                   fmt::format("no v=STSv1 record among {} TXT record(s): senders see no MTA-STS policy",
                               f.sts_txt.records.size()),
                   publish);
  }
  if (sts.size() > 1) {
    return problem(Severity::Error, "sts.txt", subject,
                   fmt::format("{} v=STSv1 records: senders ignore them all (RFC 8461 3.1)", sts.size()),
                   "delete all but one v=STSv1 record");
  }
  auto record = sts::parseTxtRecord(sts.front());
  if (!record) {
    return problem(Severity::Error, "sts.txt", subject, "invalid record: " + record.error().detail,
                   "write it as \"v=STSv1; id=<1-32 letters or digits>\"");
  }
  return ok("sts.txt", subject, fmt::format("v=STSv1 record, id={}", record->id));
}

Finding policyHostAddressFinding(const DomainFacts& f) {
  const std::string host = "mta-sts." + f.domain;
  switch (f.policy_host.status) {
    case net::DnsStatus::Failed:
      return problem(Severity::Error, "sts.host", host,
                     fmt::format("address lookup failed ({})", orUnknown(f.policy_host.detail)),
                     "make " + host + " resolvable");
    case net::DnsStatus::NoRecord:
      return problem(Severity::Error, "sts.host", host, "no A or AAAA record: the policy cannot be fetched",
                     "publish an A/AAAA record (or a CNAME) for " + host + " pointing at the web server of the policy");
    case net::DnsStatus::Ok:
      break;
  }
  return ok("sts.host", host, "addresses " + joinList(f.policy_host.addresses));
}

std::vector<Finding> policyHostTlsFindings(const DomainFacts& f, const ProbedAddress& probe, UnixSeconds now) {
  const std::string host = "mta-sts." + f.domain;
  const std::string subject = fmt::format("{}[{}]", host, probe.address);
  const net::TlsProbeResult& r = probe.result;
  if (r.outcome != net::TlsProbeOutcome::TlsEstablished) {
    return {problem(Severity::Error, "sts.tls", subject, "no TLS on port 443: " + r.detail,
                    "serve HTTPS (TLS 1.2 or newer) on port 443 of " + host)};
  }
  std::vector<Finding> out;
  if (isOldTls(r.tls.version)) {
    out.push_back(problem(Severity::Error, "sts.tls", subject,
                          r.tls.version + ": senders fetch policies over TLS 1.2 or newer only (RFC 8461 3.3)",
                          "enable TLS 1.2 or newer on the web server"));
  } else {
    out.push_back(ok("sts.tls", subject, r.tls.version));
  }
  auto cert = certificateFindings("sts.cert", subject, host, r.tls.certificate, now, Severity::Error, false);
  out.insert(out.end(), cert.begin(), cert.end());
  return out;
}

// The HTTP side of the fetch: status, redirect, media type, size.
Finding fetchFinding(const DomainFacts& f, const net::HttpsResult& result) {
  const std::string url = policyUrl(f.domain);
  const std::string host = "mta-sts." + f.domain;
  if (!result.ok()) {
    const net::HttpsError& e = *result.error;
    switch (e.kind) {
      case net::HttpsErrorKind::TlsCertificate:
        return problem(Severity::Error, "sts.fetch", url, "refused, certificate: " + e.detail,
                       "fix the certificate of " + host + " (sts.cert above)");
      case net::HttpsErrorKind::TooLarge:
        return problem(Severity::Error, "sts.fetch", url, "the response is too large: " + e.detail,
                       "keep the policy file under 64 KiB");
      case net::HttpsErrorKind::Timeout:
        return problem(Severity::Error, "sts.fetch", url, "no complete answer: " + e.detail,
                       "make the web server of " + host + " answer promptly");
      case net::HttpsErrorKind::Protocol:
        return problem(Severity::Error, "sts.fetch", url, "not a valid HTTP/1.1 response: " + e.detail,
                       "serve the file with a plain HTTP/1.1 200 response");
      case net::HttpsErrorKind::Connect:
      case net::HttpsErrorKind::TlsOther:
      case net::HttpsErrorKind::Request:
        break;
    }
    return problem(Severity::Error, "sts.fetch", url, "not fetched: " + e.detail,
                   "serve HTTPS (TLS 1.2 or newer) on port 443 of " + host);
  }
  const net::HttpsResponse& response = result.response;
  if (response.status >= 300 && response.status < 400) {
    auto location = response.header("location");
    return problem(Severity::Error, "sts.fetch", url,
                   fmt::format("answers {} redirect{}: senders never follow redirects (RFC 8461 3.3)", response.status,
                               location ? " to " + escapeForLog(*location, 120) : std::string()),
                   "serve the policy file itself at this URL, with status 200");
  }
  if (response.status != 200) {
    return problem(Severity::Error, "sts.fetch", url, fmt::format("answers HTTP status {}", response.status),
                   fmt::format("publish the policy file at {} on {}", policy::PolicyPath, host));
  }
  auto type = response.header("content-type");
  if (!type) {
    return problem(Severity::Error, "sts.fetch", url, "no Content-Type: senders want text/plain",
                   "serve the policy file as text/plain");
  }
  if (!net::isTextPlainMediaType(*type)) {
    return problem(Severity::Error, "sts.fetch", url,
                   fmt::format("Content-Type is {}, not text/plain: senders refuse it", escapeForLog(*type, 80)),
                   "serve the policy file as text/plain");
  }
  return ok("sts.fetch", url, fmt::format("status 200, {}, {} bytes", escapeForLog(*type, 80), response.body.size()));
}

// The one-line fix for a policy that does not parse, by the field at fault.
std::string policyFix(const sts::PolicyProblem& p) {
  if (p.key == "mode") {
    return p.value.empty() ? "add the line \"mode: testing\" (or enforce, or none)"
                           : fmt::format("write \"mode: testing\" (or enforce, or none; lower case) instead of {}", p.value);
  }
  if (p.key == "version") return "begin the file with the line \"version: STSv1\"";
  if (p.key == "max_age") return "write \"max_age: <seconds>\", digits only, e.g. \"max_age: 604800\" (one week)";
  if (p.key == "mx" && p.line == 0) return "add one \"mx: <host>\" line per MX host (or \"mx: *.<parent domain>\")";
  if (p.key == "mx") return "each mx is a host name (mx1.example.com) or \"*.\" and a parent domain, in A-label form";
  return "write every line as \"key: value\" (no space before ':', no empty lines, not even at the end)";
}

}  // namespace

std::vector<Finding> stsRecordFindings(const DomainFacts& facts) { return {stsRecordFinding(facts)}; }

std::vector<Finding> policyHostFindings(const DomainFacts& facts, UnixSeconds now) {
  std::vector<Finding> out{policyHostAddressFinding(facts)};
  for (const auto& probe : facts.policy_host_tls) {
    auto tls = policyHostTlsFindings(facts, probe, now);
    out.insert(out.end(), tls.begin(), tls.end());
  }
  if (facts.fetch) out.push_back(fetchFinding(facts, *facts.fetch));
  return out;
}

std::optional<sts::Policy> fetchedPolicy(const DomainFacts& facts) {
  if (!facts.fetch || fetchFinding(facts, *facts.fetch).severity != Severity::Ok) return std::nullopt;
  auto parsed = sts::parsePolicy(facts.fetch->response.body);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

std::vector<Finding> policyFindings(const DomainFacts& facts) {
  if (!facts.fetch || fetchFinding(facts, *facts.fetch).severity != Severity::Ok) return {};
  const std::string url = policyUrl(facts.domain);
  auto parsed = sts::parsePolicyDetailed(facts.fetch->response.body);
  if (const auto* p = std::get_if<sts::PolicyProblem>(&parsed)) {
    std::string message = p->line > 0 ? fmt::format("{} (line {})", p->reason, p->line) : p->reason;
    return {problem(Severity::Error, "sts.policy", url, std::move(message), policyFix(*p))};
  }
  const sts::Policy& policy = std::get<sts::Policy>(parsed);
  std::vector<Finding> out;
  out.push_back(ok("sts.policy", url,
                   fmt::format("valid policy: mode {}, max_age {}, mx {}", sts::modeName(policy.mode), policy.max_age,
                               policy.mx.empty() ? std::string("(none)") : joinList(policy.mx))));
  switch (policy.mode) {
    case sts::Mode::Enforce:
      out.push_back(ok("sts.mode", url, "mode enforce: senders deliver only over verified TLS to the listed MX hosts"));
      break;
    case sts::Mode::Testing:
      out.push_back(problem(Severity::Warning, "sts.mode", url,
                            "mode testing: failures are only reported, mail is delivered anyway",
                            "once this check and the reports are clean, write \"mode: enforce\" and change the id "
                            "of _mta-sts." + facts.domain));
      break;
    case sts::Mode::None:
      out.push_back(problem(Severity::Warning, "sts.mode", url,
                            "mode none: senders treat the domain as having no policy",
                            "write \"mode: testing\" (then enforce) and change the id of _mta-sts." + facts.domain));
      break;
  }
  // The published value, before the parser's cap.
  std::string raw;
  for (const auto& [key, value] : policy.lines) {
    if (key == "max_age") {
      raw = value;
      break;
    }
  }
  if (policy.max_age == sts::MaxAgeCap && raw != std::to_string(sts::MaxAgeCap)) {
    out.push_back(problem(Severity::Warning, "sts.max_age", url,
                          fmt::format("max_age {} is over the cap of {} s (one year): senders use {}",
                                      escapeForLog(raw, 20), sts::MaxAgeCap, sts::MaxAgeCap),
                          fmt::format("write \"max_age: {}\" or less", sts::MaxAgeCap)));
  } else if (policy.mode == sts::Mode::Enforce && policy.max_age < ShortMaxAge) {
    out.push_back(problem(Severity::Warning, "sts.max_age", url,
                          fmt::format("max_age {} is under one day: a policy that lapses this fast protects little "
                                      "against an attacker who blocks the refresh",
                                      policy.max_age),
                          "write \"max_age: 604800\" (one week) or more; RFC 8461 suggests weeks"));
  } else {
    out.push_back(ok("sts.max_age", url, fmt::format("max_age {} ({})", policy.max_age, durationText(policy.max_age))));
  }
  return out;
}

std::vector<Finding> checkDomainFindings(const DomainFacts& facts, UnixSeconds now) {
  std::vector<Finding> out = stsRecordFindings(facts);
  auto host = policyHostFindings(facts, now);
  out.insert(out.end(), host.begin(), host.end());
  auto policy_part = policyFindings(facts);
  out.insert(out.end(), policy_part.begin(), policy_part.end());
  auto mx = mxFindings(facts, fetchedPolicy(facts), now);
  out.insert(out.end(), mx.begin(), mx.end());
  auto tlsrpt = tlsRptFindings(facts);
  out.insert(out.end(), tlsrpt.begin(), tlsrpt.end());
  return out;
}

}  // namespace mtasts::check
