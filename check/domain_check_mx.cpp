// The delivery side of --check-domain: the MX records against the policy's mx patterns
// (RFC 8461 4.1), each MX host's SMTP STARTTLS probe and its certificate as enforce requires
// it (RFC 8461 4.2: PKIX chain, DNS-ID for the MX host name, not expired). Pure (see
// domain_check.hpp).
#include "check/domain_check.hpp"
#include "check/domain_check_text.hpp"

#include "common/domain.hpp"
#include "common/log.hpp"
#include "sts/mx_match.hpp"

#include <fmt/format.h>

namespace mtasts::check {
namespace {

constexpr std::int64_t Day = 86'400;

std::string plural(std::int64_t n, std::string_view one) {
  return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s");
}

Finding mxRecordFinding(const DomainFacts& f) {
  switch (f.mx.status) {
    case net::DnsStatus::Failed:
      return problem(Severity::Error, "mx.dns", f.domain, fmt::format("MX lookup failed ({})", orUnknown(f.mx.detail)),
                     "make the MX records of " + f.domain + " resolvable");
    case net::DnsStatus::NoRecord:
      return problem(Severity::Warning, "mx.dns", f.domain,
                     "no MX record: mail goes to " + f.domain + " itself (implicit MX), which the policy must match",
                     "publish MX records for " + f.domain);
    case net::DnsStatus::Ok:
      break;
  }
  if (f.mx.records.size() == 1 && f.mx.records.front().host.empty()) {
    return problem(Severity::Error, "mx.dns", f.domain, "null MX (RFC 7505): the domain receives no mail",
                   "remove the MTA-STS records of a domain without mail, or publish real MX records");
  }
  std::vector<std::string> listed;
  for (const auto& h : f.mx_hosts) listed.push_back(fmt::format("{} {}", h.preference, h.host));
  std::string message = fmt::format("{}: {}", plural(static_cast<std::int64_t>(f.mx.records.size()), "MX record"),
                                    joinList(listed));
  if (f.mx.records.size() > f.mx_hosts.size()) message += fmt::format(" (the first {} checked)", f.mx_hosts.size());
  return ok("mx.dns", f.domain, std::move(message));
}

Finding mxMatchFinding(const DomainFacts& f, const MxHostFacts& mx, const sts::Policy& policy) {
  for (const auto& pattern : policy.mx) {
    if (sts::mxMatches(pattern, mx.host)) return ok("mx.match", mx.host, "matched by the policy's mx: " + pattern);
  }
  const bool enforce = policy.mode == sts::Mode::Enforce;
  return problem(enforce ? Severity::Error : Severity::Warning, "mx.match", mx.host,
                 enforce ? "no mx pattern of the policy matches: senders that enforce defer its mail"
                         : "no mx pattern of the policy matches: under enforce its mail would be deferred",
                 fmt::format("add \"mx: {}\" to the policy and change the id of _mta-sts.{} (or remove this MX record)",
                             mx.host, f.domain),
                 true);
}

Finding mxAddressFinding(const MxHostFacts& mx) {
  if (mx.addresses.status == net::DnsStatus::Failed) {
    return problem(Severity::Error, "mx.host", mx.host,
                   fmt::format("address lookup failed ({})", orUnknown(mx.addresses.detail)),
                   "make " + mx.host + " resolvable");
  }
  return problem(Severity::Error, "mx.host", mx.host, "no A or AAAA record: no mail reaches this MX",
                 "publish an address for " + mx.host + " or remove its MX record");
}

// One SMTP probe; `severity` is what a failure that enforce would trip over gets.
std::vector<Finding> smtpFindings(const DomainFacts& f, const MxHostFacts& mx, const ProbedAddress& probe,
                                  Severity severity, bool enforce, UnixSeconds now) {
  const std::string subject = fmt::format("{}[{}]", mx.host, probe.address);
  const net::TlsProbeResult& r = probe.result;
  const char* deferred = enforce ? "senders that enforce defer mail to it" : "under enforce mail to it would be deferred";
  switch (r.outcome) {
    case net::TlsProbeOutcome::Failed:
      switch (r.stage) {
        case net::TlsProbeStage::Connect:
          return {problem(Severity::Error, "smtp.connect", subject,
                          fmt::format("cannot connect to port {}: {}", f.smtp_port, r.detail),
                          fmt::format("open port {} of {} (if outbound port 25 is blocked where this check runs, "
                                      "use --no-smtp)",
                                      f.smtp_port, mx.host))};
        case net::TlsProbeStage::Greeting:
        case net::TlsProbeStage::Ehlo:
          return {problem(Severity::Error, "smtp.session", subject, r.detail,
                          "make " + mx.host + " accept SMTP sessions from other MTAs")};
        case net::TlsProbeStage::StartTls:
          return {problem(severity, "smtp.starttls", subject, "STARTTLS failed: " + r.detail,
                          "make STARTTLS work on " + mx.host, true)};
        case net::TlsProbeStage::Handshake:
        case net::TlsProbeStage::Done:
          return {problem(severity, "smtp.tls", subject, r.detail,
                          "check the TLS setup of " + mx.host + ": certificate and key, TLS 1.2 or newer", true)};
      }
      return {};
    case net::TlsProbeOutcome::NoStartTls:
      return {problem(severity, "smtp.starttls", subject, fmt::format("STARTTLS not offered: {}", deferred),
                      "offer STARTTLS with a certificate for " + mx.host +
                          " (Postfix: smtpd_tls_chain_files, smtpd_tls_security_level = may)",
                      true)};
    case net::TlsProbeOutcome::TlsEstablished:
      break;
  }
  std::vector<Finding> out{ok("smtp.starttls", subject, "STARTTLS offered")};
  if (isOldTls(r.tls.version)) {
    out.push_back(problem(Severity::Warning, "smtp.tls", subject,
                          r.tls.version + " negotiated: senders that require TLS 1.2 or newer fail",
                          "enable TLS 1.2 and 1.3 on " + mx.host));
  } else {
    out.push_back(ok("smtp.tls", subject, r.tls.version));
  }
  auto cert = certificateFindings("smtp.cert", subject, mx.host, r.tls.certificate, now, severity, true);
  out.insert(out.end(), cert.begin(), cert.end());
  return out;
}

std::string namesText(const net::CertificateFacts& cert, const std::string& host) {
  if (!cert.dns_names.empty()) return "its names: " + joinList(cert.dns_names);
  if (equalsIgnoreCaseAscii(cert.subject_cn, host)) {
    return host + " is only its subject CN, without a subjectAltName; senders want a DNS-ID (RFC 6125)";
  }
  return fmt::format("no subjectAltName DNS name, subject CN \"{}\"", cert.subject_cn);
}

}  // namespace

std::vector<Finding> certificateFindings(const std::string& check, const std::string& subject,
                                         const std::string& host, const net::CertificateFacts& cert,
                                         UnixSeconds now, Severity severity, bool blocks) {
  if (!cert.present) {
    return {problem(severity, check, subject, "no certificate presented", "install a certificate for " + host, blocks)};
  }
  std::vector<Finding> out;
  if (cert.name_matches) {
    out.push_back(ok(check + ".name", subject, "certificate valid for " + host));
  } else {
    out.push_back(problem(severity, check + ".name", subject,
                          fmt::format("certificate not valid for {} ({})", host, namesText(cert, host)),
                          "get a certificate with " + host + " as a subjectAltName DNS name", blocks));
  }
  if (cert.chain_problems.empty()) {
    out.push_back(ok(check + ".trust", subject, "chains to a trusted root"));
  } else {
    std::string joined;
    for (const auto& p : cert.chain_problems) joined += (joined.empty() ? "" : "; ") + p;
    out.push_back(problem(severity, check + ".trust", subject, "not trusted: " + joined,
                          "serve the whole chain (certificate and intermediates) from a CA that senders trust",
                          blocks));
  }
  if (now < cert.not_before) {
    out.push_back(problem(severity, check + ".expiry", subject,
                          "certificate not valid before " + dateText(cert.not_before),
                          "install a certificate valid now (check the clock of the issuer)", blocks));
  } else if (now >= cert.not_after) {
    const std::int64_t ago = (now - cert.not_after) / Day;
    out.push_back(problem(severity, check + ".expiry", subject,
                          fmt::format("certificate expired {} ({})",
                                      ago == 0 ? std::string("less than a day ago") : plural(ago, "day") + " ago",
                                      dateText(cert.not_after)),
                          "renew the certificate, and automate its renewal", blocks));
  } else {
    const std::int64_t left = (cert.not_after - now) / Day;
    const std::string when = fmt::format("certificate expires in {} ({})",
                                         left == 0 ? std::string("less than a day") : plural(left, "day"),
                                         dateText(cert.not_after));
    if (left < ExpiryWarningDays) {
      out.push_back(problem(Severity::Warning, check + ".expiry", subject, when,
                            "renew it now, and automate its renewal"));
    } else {
      out.push_back(ok(check + ".expiry", subject, when));
    }
  }
  return out;
}

std::vector<Finding> mxFindings(const DomainFacts& facts, const std::optional<sts::Policy>& policy, UnixSeconds now) {
  std::vector<Finding> out{mxRecordFinding(facts)};
  const bool enforce = policy && policy->mode == sts::Mode::Enforce;
  const Severity severity = enforce ? Severity::Error : Severity::Warning;
  for (const auto& mx : facts.mx_hosts) {
    if (policy) out.push_back(mxMatchFinding(facts, mx, *policy));
    if (!facts.smtp_checked) continue;
    if (mx.addresses.status != net::DnsStatus::Ok) {
      out.push_back(mxAddressFinding(mx));
      continue;
    }
    for (const auto& probe : mx.probes) {
      auto smtp = smtpFindings(facts, mx, probe, severity, enforce, now);
      out.insert(out.end(), smtp.begin(), smtp.end());
    }
  }
  return out;
}

}  // namespace mtasts::check
