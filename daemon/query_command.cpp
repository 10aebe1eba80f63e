#include "daemon/query_command.hpp"

#include "common/domain.hpp"
#include "policy/policy_service.hpp"
#include "server/socketmap_reply.hpp"
#include "postfix/socketmap.hpp"

#include <event2/event.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace mtasts::daemon {
namespace {

// Several v=STSv1 records are "no policy" for a sender (RFC 8461 3.1), but for the
// person running --query that is a broken setup worth exit status 2.
std::size_t stsRecordCount(const DiscoveryOutcome& d) {
  std::size_t n = 0;
  for (const auto& r : d.records) n += r.rfind("v=STSv1", 0) == 0 ? 1u : 0u;
  return n;
}

// The daemon's rule (PolicyService::decide): DANE decides where it applies.
std::string verdictFor(const QueryReport& r, const QueryFormat& f, bool tlsrpt) {
  postfix::PolicyAnswer a;
  a.domain = r.domain;
  const bool sts = r.fetch && r.fetch->ok && policy::policyIsEnforced(r.fetch->policy, f.strict_testing);
  a.kind = sts ? postfix::PolicyAnswer::Kind::Enforce : postfix::PolicyAnswer::Kind::NoPolicy;
  if (f.dane && r.dane) a.kind = policy::daneVerdict(r.dane->state, sts, f.dane_without_sts);
  if (a.kind == postfix::PolicyAnswer::Kind::Enforce) {
    a.mx = &r.fetch->policy.mx;
    a.policy_lines = &r.fetch->policy.lines;
  }
  return server::replyForAnswer(a, tlsrpt, f.max_reply_size);
}

std::string_view statusName(net::DnsStatus status) {
  switch (status) {
    case net::DnsStatus::Ok: return "ok";
    case net::DnsStatus::NoRecord: return "no-record";
    case net::DnsStatus::Failed: return "failed";
  }
  return "?";
}

std::string hexOf(std::string_view bytes) {
  static constexpr char Digits[] = "0123456789abcdef";
  std::string out;
  for (char byte : bytes) {
    const auto c = static_cast<unsigned char>(byte);
    out += Digits[c >> 4];
    out += Digits[c & 15];
  }
  return out;
}

// "status=ok dnssec=secure ttl=300" plus the detail of an empty or failed answer.
std::string answerLine(const net::DnsAnswerMeta& a) {
  std::string line = fmt::format("status={} dnssec={} ttl={}", statusName(a.status), net::dnssecStatusName(a.dnssec), a.ttl);
  if (a.status != net::DnsStatus::Ok && !a.detail.empty()) line += " (" + a.detail + ")";
  return line;
}

std::string daneLine(const QueryReport& r, const QueryFormat& f) {
  if (!r.dane) return "off (" + (f.dane_off_reason.empty() ? std::string("dane = off") : f.dane_off_reason) + ")";
  std::string line = std::string(policy::daneStateName(r.dane->state)) + " (" + r.dane->detail + ")";
  if (policy::daneApplies(r.dane->state)) line += ": DANE takes precedence over MTA-STS";
  return line;
}

void daneText(std::ostringstream& out, const QueryReport& r, const QueryFormat& f) {
  if (r.dane) {
    const auto& d = *r.dane;
    out << "mx: " << answerLine(d.mx) << (d.implicit_mx ? " (implicit MX: the domain itself)" : "") << "\n";
    for (const auto& mx : d.mx.records) out << "  " << mx.preference << " " << (mx.host.empty() ? "." : mx.host) << "\n";
    for (const auto& host : d.hosts) {
      out << "tlsa _25._tcp." << host.host << ": " << answerLine(host.tlsa) << " usable=" << host.usable << "\n";
      for (const auto& t : host.tlsa.records) {
        out << "  " << unsigned{t.usage} << " " << unsigned{t.selector} << " " << unsigned{t.mtype} << " "
            << hexOf(t.data) << (policy::usableTlsaRecord(t) ? "" : " (unusable)") << "\n";
      }
    }
  }
  out << "dane: " << daneLine(r, f) << "\n";
}

nlohmann::json daneJson(const QueryReport& r, const QueryFormat& f) {
  nlohmann::json j;
  j["mode"] = r.dane ? f.dane_mode : "off";
  if (!r.dane) {
    j["state"] = "off";
    j["detail"] = f.dane_off_reason.empty() ? "dane = off" : f.dane_off_reason;
    return j;
  }
  const auto& d = *r.dane;
  auto meta = [](const net::DnsAnswerMeta& a) {
    return nlohmann::json{{"status", statusName(a.status)}, {"dnssec", net::dnssecStatusName(a.dnssec)},
                          {"ttl", a.ttl}, {"detail", a.detail}};
  };
  j["state"] = policy::daneStateName(d.state);
  j["applies"] = policy::daneApplies(d.state);
  j["detail"] = d.detail;
  j["ttl"] = d.ttl;
  j["mx"] = meta(d.mx);
  j["mx"]["implicit"] = d.implicit_mx;
  j["mx"]["records"] = nlohmann::json::array();
  for (const auto& mx : d.mx.records) j["mx"]["records"].push_back({{"preference", mx.preference}, {"host", mx.host}});
  j["tlsa"] = nlohmann::json::array();
  for (const auto& host : d.hosts) {
    nlohmann::json t = meta(host.tlsa);
    t["name"] = "_25._tcp." + host.host;
    t["host"] = host.host;
    t["usable"] = host.usable;
    t["records"] = nlohmann::json::array();
    for (const auto& rec : host.tlsa.records) {
      t["records"].push_back({{"usage", rec.usage}, {"selector", rec.selector}, {"mtype", rec.mtype},
                              {"data", hexOf(rec.data)}, {"usable", policy::usableTlsaRecord(rec)}});
    }
    j["tlsa"].push_back(std::move(t));
  }
  return j;
}

std::string summary(const QueryReport& r) {
  using Status = DiscoveryOutcome::Status;
  if (!r.skip_reason.empty()) return "not a policy domain (" + r.skip_reason + "): NOTFOUND without lookup";
  switch (r.discovery.status) {
    case Status::DnsFailed:
      return "DNS lookup failed (" + r.discovery.detail +
             "): cannot tell whether the domain has a policy";
    case Status::NoRecord:
      if (stsRecordCount(r.discovery) > 1) return "invalid: " + r.discovery.detail + " (treated as no policy)";
      return "no MTA-STS policy (" + r.discovery.detail + ")";
    case Status::InvalidRecord:
      return "invalid TXT record: " + r.discovery.detail + " (treated as no policy)";
    case Status::Found:
      break;
  }
  if (!r.fetch) return "policy not fetched";
  if (!r.fetch->ok) {
    return std::string("policy fetch failed: type=") +
           std::string(tlsRptResultTypeName(r.fetch->failure)) + " reason=" + r.fetch->detail;
  }
  return std::string("policy found, mode ") + std::string(sts::modeName(r.fetch->policy.mode));
}

}  // namespace

int queryExitCode(const QueryReport& r) {
  using Status = DiscoveryOutcome::Status;
  if (!r.skip_reason.empty()) return 1;
  switch (r.discovery.status) {
    case Status::DnsFailed:
    case Status::InvalidRecord:
      return 2;
    case Status::NoRecord:  // also several STS records: RFC 8461 3.1 says "no policy"
      return 1;
    case Status::Found:
      break;
  }
  return r.fetch && r.fetch->ok ? 0 : 2;
}

std::string formatQueryReport(const QueryReport& r, const QueryFormat& f) {
  const std::string plain = verdictFor(r, f, false);
  const std::string tlsrpt = f.tlsrpt_map.empty() ? std::string() : verdictFor(r, f, true);
  if (f.json) {
    nlohmann::json j;
    j["domain"] = r.domain;
    if (!r.unicode_key.empty()) j["unicode_key"] = r.unicode_key;
    j["result"] = summary(r);
    j["exit_code"] = queryExitCode(r);
    j["txt_records"] = r.discovery.records;
    if (r.discovery.status == DiscoveryOutcome::Status::Found) j["id"] = r.discovery.id;
    if (r.fetch) {
      j["policy_host"] = "mta-sts." + r.domain;
      j["addresses"] = r.fetch->addresses;
      if (!r.fetch->body.empty()) j["policy_text"] = r.fetch->body;
      if (r.fetch->ok) {
        j["policy"] = {{"mode", sts::modeName(r.fetch->policy.mode)},
                       {"max_age", r.fetch->policy.max_age},
                       {"mx", r.fetch->policy.mx}};
      } else {
        j["failure"] = {{"result_type", tlsRptResultTypeName(r.fetch->failure)},
                        {"reason", r.fetch->detail}};
      }
    }
    j["dane"] = daneJson(r, f);
    j["verdicts"][f.plain_map] = plain;
    if (!f.tlsrpt_map.empty()) j["verdicts"][f.tlsrpt_map] = tlsrpt;
    // Invalid UTF-8 from a hostile server must not abort the dump.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::ostringstream out;
  out << "domain: " << r.domain << "\n";
  if (!r.unicode_key.empty()) out << "converted from: " << r.unicode_key << " (UTS #46 non-transitional)\n";
  for (const auto& rec : r.discovery.records) out << "txt: " << rec << "\n";
  if (r.discovery.status == DiscoveryOutcome::Status::Found) out << "id: " << r.discovery.id << "\n";
  if (r.fetch) {
    out << "policy host: mta-sts." << r.domain;
    for (const auto& a : r.fetch->addresses) out << " " << a;
    out << "\n";
    if (r.fetch->ok) {
      out << "policy:\n";
      for (const auto& [k, v] : r.fetch->policy.lines) out << "  " << k << ": " << v << "\n";
    } else {
      out << "failure: result_type=" << tlsRptResultTypeName(r.fetch->failure)
          << " reason=" << r.fetch->detail << "\n";
    }
  }
  daneText(out, r, f);
  out << "verdict " << f.plain_map << ": " << plain << "\n";
  if (!f.tlsrpt_map.empty()) out << "verdict " << f.tlsrpt_map << ": " << tlsrpt << "\n";
  out << "result: " << summary(r) << "\n";
  return out.str();
}

QueryReport runQuery(event_base* base, PolicyResolver& resolver, const std::string& key, bool dane) {
  QueryReport report;
  auto normalised = postfix::normalizePolicyKey(key);
  report.domain = normalised.domain().empty() ? key : std::string(normalised.domain());
  if (!normalised.domain().empty() && hasNonAsciiByte(key)) report.unicode_key = key;
  if (normalised.domain().empty()) {
    report.skip_reason = std::string(normalised.skip_reason);
    return report;
  }
  bool done = false;
  bool dane_done = !dane;
  RequestHandle fetch;
  RequestHandle dane_check;
  if (dane) {
    dane_check = resolver.checkDane(report.domain, [&](policy::DaneOutcome outcome) {
      report.dane = std::move(outcome);
      dane_done = true;
    });
  }
  auto discovery = resolver.discover(report.domain, [&](DiscoveryOutcome d) {
    report.discovery = std::move(d);
    if (report.discovery.status != DiscoveryOutcome::Status::Found) {
      done = true;
      return;
    }
    fetch = resolver.fetch(report.domain, [&](FetchOutcome f) {
      report.fetch = std::move(f);
      done = true;
    });
  });
  while (!done || !dane_done) {
    if (event_base_loop(base, EVLOOP_ONCE) != 0) break;  // nothing left to wait for
  }
  return report;
}

}  // namespace mtasts::daemon
