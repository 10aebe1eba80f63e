#include "tlsrpt/report_digest_format.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <set>

namespace mtasts::tlsrpt {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t MaxShownBytes = 200;
constexpr std::size_t MaxTlsaShown = 40;

// Report strings for a terminal: control bytes and DEL as \xNN (\r, \n, \t by name), valid
// UTF-8 kept, cut at a character boundary after max bytes with "..." appended.
std::string display(std::string_view s, std::size_t max = MaxShownBytes) {
  static constexpr char Hex[] = "0123456789abcdef";
  const bool cut = s.size() > max;
  if (cut) {
    s = s.substr(0, max);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xc0) == 0x80) s.remove_suffix(1);
    if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xc0) s.remove_suffix(1);
  }
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += Hex[c >> 4];
      out += Hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  if (cut) out += "...";
  return out;
}

std::string orDash(const std::string& s) { return s.empty() ? std::string("-") : display(s); }

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::vector<std::string> mxPatternsOf(const PolicyDescriptor& policy) {
  if (!policy.mx_hosts.empty()) return policy.mx_hosts;
  std::vector<std::string> out;  // Microsoft leaves mx-host out: the policy's mx lines say it
  for (const std::string& line : policy.strings) {
    if (line.starts_with("mx:")) {
      std::string_view v = std::string_view(line).substr(3);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      out.emplace_back(v);
    }
  }
  return out;
}

// Failure rows largest first, then by their fields.
std::vector<std::pair<const DigestRowKey*, std::uint64_t>> sortedRows(const DigestPolicy& policy) {
  std::vector<std::pair<const DigestRowKey*, std::uint64_t>> rows;
  for (const auto& [key, count] : policy.rows) rows.emplace_back(&key, count);
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return rows;
}

std::vector<std::pair<TlsRptResultType, std::uint64_t>> sortedTypes(const DigestTotals& totals) {
  std::vector<std::pair<TlsRptResultType, std::uint64_t>> types(totals.by_result.begin(), totals.by_result.end());
  std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : tlsRptResultTypeName(a.first) < tlsRptResultTypeName(b.first);
  });
  return types;
}

void appendTable(std::string& out, const std::vector<std::vector<std::string>>& rows, std::string_view indent,
                 std::size_t right_aligned) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line(indent);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string pad(width[i] - row[i].size(), ' ');
      line += i == right_aligned ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : "");
    }
    out += line + "\n";
  }
}

void appendTypeTotals(std::string& out, const DigestTotals& totals, std::string_view indent) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [type, count] : sortedTypes(totals)) {
    rows.push_back({std::string(tlsRptResultTypeName(type)), std::to_string(count)});
  }
  appendTable(out, rows, indent, 1);
}

void appendPolicy(std::string& out, const DigestPolicy& p) {
  std::string line = fmt::format("  {} {}", policyTypeName(p.policy.type),
                                 p.policy.domain.empty() ? std::string("(no policy-domain)") : display(p.policy.domain));
  if (p.domain_from_envelope) line += " (policy-domain from the mail header or file name)";
  const std::string strings = summarizePolicyStrings(p.policy);
  const std::vector<std::string> mx = mxPatternsOf(p.policy);
  if (!strings.empty() || !mx.empty()) line += ":";
  if (!strings.empty()) line += " " + strings;
  if (!mx.empty()) {
    line += strings.empty() ? " mx " : "; mx ";
    for (std::size_t i = 0; i < mx.size(); ++i) line += (i ? ", " : "") + display(mx[i]);
  }
  out += line + "\n";
  out += fmt::format("    sessions: {} successful, {} failed\n", p.successful, p.failed);
  if (p.rows.empty()) return;
  const bool reasons = std::any_of(p.rows.begin(), p.rows.end(), [](const auto& r) { return !r.first.reason_code.empty(); });
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"result-type", "receiving-mx", "receiving-ip", "sending-ip", "count"});
  if (reasons) rows.back().push_back("reason");
  for (const auto& [key, count] : sortedRows(p)) {
    rows.push_back({std::string(tlsRptResultTypeName(key->result)), orDash(key->receiving_mx),
                    orDash(key->receiving_ip), orDash(key->sending_ip), std::to_string(count)});
    if (reasons) rows.back().push_back(orDash(key->reason_code));
  }
  appendTable(out, rows, "    ", 4);
}

Json totalsJson(const DigestTotals& totals) {
  Json types = Json::object();
  std::vector<std::pair<std::string_view, std::uint64_t>> named;
  for (const auto& [type, count] : totals.by_result) named.emplace_back(tlsRptResultTypeName(type), count);
  std::sort(named.begin(), named.end());
  for (const auto& [name, count] : named) types[std::string(name)] = count;
  return Json{{"total-successful-session-count", totals.successful},
              {"total-failure-session-count", totals.failed},
              {"result-types", std::move(types)}};
}

Json policyJson(const DigestPolicy& p) {
  Json j{{"policy-type", policyTypeName(p.policy.type)}};
  if (!p.policy.domain.empty()) j["policy-domain"] = p.policy.domain;
  j["policy-domain-source"] = p.policy.domain.empty() ? "none" : p.domain_from_envelope ? "envelope" : "report";
  j["policy-string"] = p.policy.strings;
  j["mx-host"] = mxPatternsOf(p.policy);
  j["total-successful-session-count"] = p.successful;
  j["total-failure-session-count"] = p.failed;
  Json rows = Json::array();
  for (const auto& [key, count] : sortedRows(p)) {
    Json row{{"result-type", tlsRptResultTypeName(key->result)}};
    if (!key->receiving_mx.empty()) row["receiving-mx-hostname"] = key->receiving_mx;
    if (!key->receiving_ip.empty()) row["receiving-ip"] = key->receiving_ip;
    if (!key->sending_ip.empty()) row["sending-mta-ip"] = key->sending_ip;
    if (!key->reason_code.empty()) row["failure-reason-code"] = key->reason_code;
    row["failed-session-count"] = count;
    rows.push_back(std::move(row));
  }
  j["failure-details"] = std::move(rows);
  return j;
}

std::string readLine(const ReportDigest& digest, const ReadTally& tally) {
  std::string line = "Read " + plural(digest.counted(), "report", "reports");
  std::vector<std::string> extra;
  if (digest.duplicates() > 0) extra.push_back(plural(digest.duplicates(), "duplicate", "duplicates") + " counted once");
  if (digest.beforeWindow() > 0) extra.push_back(plural(digest.beforeWindow(), "report", "reports") + " before --since not shown");
  for (std::size_t i = 0; i < extra.size(); ++i) line += (i == 0 ? " (" : ", ") + extra[i];
  if (!extra.empty()) line += ")";
  return line + fmt::format("; {} skipped, {} ignored.\n", plural(tally.skipped, "input", "inputs"), tally.ignored);
}

}  // namespace

std::string formatNoteLine(const ReadNote& note) {
  // File names and reasons may hold any byte: control bytes escaped keep it one line.
  return fmt::format("{}: {}: {}", display(note.where, std::string::npos), noteKindName(note.kind),
                     display(note.reason, std::string::npos));
}

std::string summarizePolicyStrings(const PolicyDescriptor& policy) {
  if (policy.type == PolicyType::Tlsa) {
    if (policy.strings.empty()) return {};
    return fmt::format("{}: {}", plural(policy.strings.size(), "TLSA record", "TLSA records"),
                       display(policy.strings.front(), MaxTlsaShown));
  }
  if (policy.type != PolicyType::Sts) return {};
  std::string mode;
  std::string max_age;
  for (const std::string& line : policy.strings) {
    std::string_view v = line;
    std::string* into = v.starts_with("mode:") ? &mode : v.starts_with("max_age:") ? &max_age : nullptr;
    if (into == nullptr || !into->empty()) continue;
    v.remove_prefix(v.find(':') + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    *into = display(v, 40);
  }
  if (policy.strings.empty()) return "no policy strings";
  std::string out;
  if (!mode.empty()) out = "mode " + mode;
  if (!max_age.empty()) out += (out.empty() ? "" : ", ") + ("max_age " + max_age);
  return out.empty() ? plural(policy.strings.size(), "policy string", "policy strings") : out;
}

std::string formatDigestText(const ReportDigest& digest, const ReadTally& tally) {
  std::string out;
  if (digest.since()) {
    out += "Reports whose date range ends on or after " + formatDateTime(*digest.since()) + ".\n\n";
  }
  std::set<std::string> organizations;
  std::set<UtcDay> days;
  for (const auto& [key, group] : digest.groups()) {
    organizations.insert(group.organization);
    days.insert(group.day);
    std::string head = fmt::format("{}, {}: {}", display(group.organization), formatDate(group.day),
                                   plural(group.reports, "report", "reports"));
    std::size_t i = 0;
    for (const std::string& contact : group.contacts) head += (i++ == 0 ? ", contact " : ", ") + display(contact);
    out += head + "\n";
    for (const auto& [descriptor, policy] : group.policies) appendPolicy(out, policy);
    out += fmt::format("  total: {} successful, {} failed sessions\n", group.totals.successful, group.totals.failed);
    appendTypeTotals(out, group.totals, "    ");
    out += "\n";
  }
  if (digest.counted() > 0) {
    out += fmt::format("All: {} from {} on {}: {} successful, {} failed sessions\n",
                       plural(digest.counted(), "report", "reports"),
                       plural(organizations.size(), "organization", "organizations"),
                       plural(days.size(), "day", "days"), digest.totals().successful, digest.totals().failed);
    appendTypeTotals(out, digest.totals(), "    ");
  }
  return out + readLine(digest, tally);
}

std::string formatDigestJson(const ReportDigest& digest, const ReadTally& tally) {
  Json doc;
  doc["since"] = digest.since() ? Json(formatDateTime(*digest.since())) : Json(nullptr);
  doc["reports"] = digest.counted();
  doc["duplicates"] = digest.duplicates();
  doc["before-since"] = digest.beforeWindow();
  doc["skipped"] = tally.skipped;
  doc["ignored"] = tally.ignored;
  Json groups = Json::array();
  for (const auto& [key, group] : digest.groups()) {
    Json policies = Json::array();
    for (const auto& [descriptor, policy] : group.policies) policies.push_back(policyJson(policy));
    groups.push_back(Json{{"organization-name", group.organization},
                          {"date", formatDate(group.day)},
                          {"reports", group.reports},
                          {"contact-info", group.contacts},
                          {"policies", std::move(policies)},
                          {"totals", totalsJson(group.totals)}});
  }
  doc["groups"] = std::move(groups);
  doc["totals"] = totalsJson(digest.totals());
  Json notes = Json::array();
  for (const ReadNote& note : tally.notes) {
    notes.push_back(Json{{"input", note.where}, {"status", noteKindName(note.kind)}, {"reason", note.reason}});
  }
  doc["notes"] = std::move(notes);
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace mtasts::tlsrpt
