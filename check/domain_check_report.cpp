// The TLSRPT record's findings (RFC 8460 3), the closing verdict of --check-domain, its two
// output formats and the text helpers of domain_check_text.hpp. Pure (see domain_check.hpp).
#include "check/domain_check.hpp"
#include "check/domain_check_text.hpp"

#include "common/log.hpp"
#include "tlsrpt/tlsrpt_record.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <sstream>

namespace mtasts::check {

std::string_view severityName(Severity severity) noexcept {
  switch (severity) {
    case Severity::Ok: return "ok";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "?";
}

std::string_view readinessName(Readiness readiness) noexcept {
  switch (readiness) {
    case Readiness::ReadyForEnforce: return "ready for enforce";
    case Readiness::TestingOnly: return "testing only";
    case Readiness::NotReady: return "not ready";
  }
  return "?";
}

std::string joinStrings(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + escapeForLog(item, 255);
  return out;
}

std::string orUnknown(const std::string& detail) { return detail.empty() ? "unknown error" : escapeForLog(detail, 120); }

bool isOldTls(std::string_view version) {
  return version == "SSLv3" || version == "TLSv1" || version == "TLSv1.1";
}

std::string dateText(UnixSeconds t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "?";
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string timestampText(UnixSeconds t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "?";
  return fmt::format("{}T{:02}:{:02}:{:02}Z", dateText(t), tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string durationText(std::int64_t seconds) {
  auto unit = [](std::int64_t n, const char* one) { return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s"); };
  const std::int64_t days = seconds / 86'400;
  const std::int64_t rest = seconds % 86'400;
  if (days > 0 && rest == 0) return unit(days, "day");
  if (days > 0 && rest % 3'600 == 0) return unit(days, "day") + " " + unit(rest / 3'600, "hour");
  if (days == 0 && seconds >= 3'600 && rest % 3'600 == 0) return unit(seconds / 3'600, "hour");
  return fmt::format("{} s", seconds);
}

std::vector<Finding> tlsRptFindings(const DomainFacts& f) {
  const std::string subject = "_smtp._tls." + f.domain;
  const std::string publish =
      fmt::format("publish one TXT record _smtp._tls.{} \"v=TLSRPTv1; rua=mailto:tlsrpt@{}\"", f.domain, f.domain);
  switch (f.tlsrpt_txt.status) {
    case net::DnsStatus::Failed:
      return {problem(Severity::Warning, "tlsrpt.txt", subject,
                      fmt::format("TXT lookup failed ({}): reporters cannot find where to report",
                                  orUnknown(f.tlsrpt_txt.detail)),
                      "make the name servers of the zone answer for " + subject)};
    case net::DnsStatus::NoRecord:
      return {problem(Severity::Warning, "tlsrpt.txt", subject,
                      "no TLSRPT record: nobody reports failed TLS deliveries to you", publish)};
    case net::DnsStatus::Ok:
      break;
  }
  std::vector<std::string> records;
  std::vector<std::string> near_misses;
  for (const auto& rr : f.tlsrpt_txt.records) {
    std::string joined = joinStrings(rr);
    if (tlsrpt::looksLikeTlsRptRecord(joined)) {
      records.push_back(std::move(joined));
    } else if (joined.rfind("v=TLSRPTv1", 0) == 0) {
      near_misses.push_back(std::move(joined));
    }
  }
  if (records.empty() && !near_misses.empty()) {
    return {problem(Severity::Error, "tlsrpt.txt", subject,
                    fmt::format("\"{}\" is discarded by reporters: v=TLSRPTv1 must be followed by ';'",
                                escapeForLog(near_misses.front(), 100)),
                    "write it as \"v=TLSRPTv1; rua=...\"")};
  }
  if (records.empty()) {
    return {problem(Severity::Warning, "tlsrpt.txt", subject,
                    fmt::format("no v=TLSRPTv1 record among {} TXT record(s): nobody reports failed TLS deliveries "
                                "to you",
                                f.tlsrpt_txt.records.size()),
                    publish)};
  }
  if (records.size() > 1) {
    return {problem(Severity::Error, "tlsrpt.txt", subject,
                    fmt::format("{} v=TLSRPTv1 records: reporters send no report at all (RFC 8460 3)", records.size()),
                    "delete all but one v=TLSRPTv1 record")};
  }
  auto record = tlsrpt::parseTlsRptRecord(records.front());
  if (!record) {
    return {problem(Severity::Error, "tlsrpt.txt", subject, "invalid record: " + record.error().detail,
                    "write it as \"v=TLSRPTv1; rua=mailto:<address>\" (or rua=https://..., comma-separated)")};
  }
  std::vector<Finding> out{ok("tlsrpt.txt", subject, "v=TLSRPTv1 record")};
  for (const auto& uri : record->rua) {
    out.push_back(ok("tlsrpt.rua", subject, "reports go to " + escapeForLog(uri.uri, 200)));
  }
  for (const auto& why : record->skipped) {
    out.push_back(problem(Severity::Warning, "tlsrpt.rua", subject, "rua entry not used: " + why,
                          "list only mailto: and https: URIs in rua=, separated by commas"));
  }
  return out;
}

Verdict checkDomainVerdict(const DomainFacts& facts, const std::vector<Finding>& findings) {
  std::size_t errors = 0;
  std::size_t blockers = 0;
  bool publication_broken = false;
  for (const auto& f : findings) {
    if (f.severity == Severity::Error) {
      ++errors;
      if (f.check.rfind("sts.", 0) == 0 || f.check == "mx.dns") publication_broken = true;
    }
    if (f.blocks_enforce) ++blockers;
  }
  const auto policy = fetchedPolicy(facts);
  const bool enforced = policy && policy->mode == sts::Mode::Enforce;
  Verdict v;
  if (publication_broken) {
    v.readiness = Readiness::NotReady;
    v.summary = fmt::format("not ready: senders find no usable MTA-STS policy; fix the {} error(s) above", errors);
  } else if (blockers > 0) {
    v.readiness = Readiness::TestingOnly;
    v.summary = enforced ? fmt::format("testing only: with mode enforce published, senders defer mail now "
                                       "({} finding(s) above); go back to mode: testing until they are fixed",
                                       blockers)
                         : fmt::format("testing only: {} finding(s) above would defer mail under enforce; keep "
                                       "mode: testing until they are fixed",
                                       blockers);
  } else if (errors > 0) {
    v.readiness = Readiness::TestingOnly;
    v.summary = fmt::format("testing only: fix the {} error(s) above before mode: enforce", errors);
  } else {
    v.readiness = Readiness::ReadyForEnforce;
    v.summary = enforced ? std::string("ready for enforce: the policy is enforced and every check passed")
                         : fmt::format("ready for enforce: write \"mode: enforce\" and change the id of _mta-sts.{}",
                                       facts.domain);
  }
  if (!facts.smtp_checked) v.summary += " (MX hosts not probed: --no-smtp)";
  return v;
}

std::string formatCheckDomainText(const DomainFacts& facts, const std::vector<Finding>& findings,
                                  const Verdict& verdict) {
  std::size_t check_width = 0;
  for (const auto& f : findings) check_width = std::max(check_width, f.check.size());
  std::ostringstream out;
  out << "checking " << facts.domain
      << (facts.smtp_checked ? fmt::format(" (MX hosts probed on port {})", facts.smtp_port)
                             : std::string(" (MX hosts not probed: --no-smtp)"))
      << "\n";
  const std::string indent(8 + check_width + 2, ' ');
  for (const auto& f : findings) {
    out << fmt::format("{:<8}{:<{}}  {}: {}\n", severityName(f.severity), f.check, check_width, f.subject, f.message);
    if (!f.fix.empty()) out << indent << "fix: " << f.fix << "\n";
  }
  out << "result: " << verdict.summary << " (exit " << verdict.exitCode() << ")\n";
  return out.str();
}

std::string formatCheckDomainJson(const DomainFacts& facts, const std::vector<Finding>& findings,
                                  const Verdict& verdict, UnixSeconds now) {
  nlohmann::json j;
  j["domain"] = facts.domain;
  j["checked_at"] = timestampText(now);
  j["smtp_checked"] = facts.smtp_checked;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : findings) {
    j["findings"].push_back({{"severity", severityName(f.severity)},
                             {"check", f.check},
                             {"subject", f.subject},
                             {"message", f.message},
                             {"fix", f.fix}});
  }
  j["result"] = {{"verdict", readinessName(verdict.readiness)},
                 {"exit_code", verdict.exitCode()},
                 {"summary", verdict.summary}};
  // Text from hostile servers is escaped already; replace keeps a stray byte from aborting.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace mtasts::check
