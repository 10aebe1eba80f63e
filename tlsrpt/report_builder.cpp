#include "tlsrpt/report_builder.hpp"

#include <map>

#include "tlsrpt/report_files.hpp"
#include "tlsrpt/report_naming.hpp"

namespace mtasts::tlsrpt {

std::optional<std::string> carriedRecord(const std::vector<DayEntry>& entries) {
  std::map<std::string_view, std::uint64_t> sessions;  // ordered: ties go to the smallest text
  for (const auto& e : entries) {
    if (e.tlsrpt_record.empty()) continue;
    auto& n = sessions[e.tlsrpt_record];
    n = saturatingAdd(n, saturatingAdd(e.counts.successful_sessions, e.counts.failed_sessions));
  }
  std::optional<std::string> best;
  std::uint64_t most = 0;
  for (const auto& [record, n] : sessions) {
    if (!best || n > most) {
      best = std::string(record);
      most = n;
    }
  }
  return best;
}

Result<TlsRptRecord> recordFromCarried(std::string_view carried) { return parseTlsRptRecord(carried); }

Result<TlsRptRecord> recordFromTxt(const net::TxtAnswer& answer) {
  switch (answer.status) {
    case net::DnsStatus::NoRecord: return fail(ErrorCode::NotFound, "no _smtp._tls record (" + answer.detail + ")");
    case net::DnsStatus::Failed: return fail(ErrorCode::Temporary, "_smtp._tls lookup failed: " + answer.detail);
    case net::DnsStatus::Ok: break;
  }
  std::vector<std::string> joined;
  for (const auto& rr : answer.records) {
    std::string text;
    for (const auto& s : rr) text += s;
    joined.push_back(std::move(text));
  }
  return parseTlsRptRecords(joined);
}

std::string tlsRptRecordName(std::string_view domain) { return "_smtp._tls." + std::string(domain); }

Report reportFromEntries(UtcDay day, std::string_view domain, const std::vector<DayEntry>& entries,
                         const ReporterIdentity& who, std::string report_id) {
  Report r;
  r.organization_name = who.organization_name;
  r.day = day;
  r.contact_info = who.contact_info;
  r.report_id = std::move(report_id);
  r.policy_domain = std::string(domain);
  for (const auto& e : entries) r.policies.push_back(e.counts);
  normalizeReport(r);
  return r;
}

Result<BuiltReport> buildReport(UtcDay day, std::string_view domain, const std::vector<DayEntry>& entries,
                                const ReporterIdentity& who, std::string_view token, UnixSeconds now) {
  auto id = makeReportId(day, domain, who.submitter, token);
  if (!id) return Unexpected{std::move(id).error()};
  const Report report = reportFromEntries(day, domain, entries, who, *id);
  auto files = buildReportFiles(report, who.submitter);
  if (!files) return Unexpected{std::move(files).error()};
  BuiltReport out;
  out.stored.report_id = std::move(*id);
  out.stored.file_name = std::move(files->file_name);
  out.stored.submitter = who.submitter;
  out.stored.created_at = now;
  out.stored.gzip = std::move(files->gzip);
  out.json = std::move(files->json);
  return out;
}

std::vector<std::pair<int, Delivery>> destinationsOf(const TlsRptRecord& record, UnixSeconds now) {
  std::vector<std::pair<int, Delivery>> out;
  int index = 1;
  for (const auto& uri : record.rua) {
    if (index > static_cast<int>(MaxReportUris)) break;
    Delivery d;
    d.kind = uri.kind == RuaKind::Mailto ? DeliveryKind::Mailto : DeliveryKind::Https;
    d.rua = uri;
    d.state = DeliveryState::Pending;
    d.next_attempt = now;
    out.emplace_back(index++, std::move(d));
  }
  return out;
}

Delivery pendingLookup(UnixSeconds now) {
  Delivery d;
  d.kind = DeliveryKind::Lookup;
  d.state = DeliveryState::Pending;
  d.next_attempt = now;
  return d;
}

}  // namespace mtasts::tlsrpt
