#include "tlsrpt/status_format.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <tuple>

#include "common/log.hpp"
#include "tlsrpt/json_out.hpp"
#include "tlsrpt/report_json.hpp"

namespace mtasts::tlsrpt {
namespace {

std::vector<const DayEntry*> sortedEntries(const StatusDay& day) {
  std::vector<const DayEntry*> out;
  for (const auto& e : day.entries) out.push_back(&e);
  std::sort(out.begin(), out.end(), [](const DayEntry* a, const DayEntry* b) {
    return std::tie(a->domain, a->counts.policy, a->tlsrpt_record) <
           std::tie(b->domain, b->counts.policy, b->tlsrpt_record);
  });
  return out;
}

std::uint64_t rejected(const CollectorCounters& c) {
  return c.value("rejected-invalid") + c.value("rejected-too-large") + c.value("rejected-truncated");
}

std::string timeOrNever(UnixSeconds t) { return t == 0 ? std::string("never") : formatDateTime(t); }

void appendRow(std::string& out, const FailureCount& row) {
  const FailureDetail& d = row.detail;
  out += fmt::format("    failure {} x{}", tlsRptResultTypeName(d.result), row.sessions);
  const std::pair<const char*, const std::string*> fields[] = {
      {"mx", &d.receiving_mx_hostname}, {"ip", &d.receiving_ip},
      {"helo", &d.receiving_mx_helo},   {"from", &d.sending_mta_ip},
      {"reason", &d.failure_reason_code}, {"info", &d.additional_information},
  };
  for (const auto& [name, value] : fields) {
    if (!value->empty()) out += fmt::format(" {}={}", name, escapeForLog(*value, 120));
  }
  out += '\n';
}

void appendEntry(std::string& out, const StatusDay& day, const DayEntry& e) {
  const PolicyDescriptor& p = e.counts.policy;
  out += fmt::format("{}  {}\n", formatDate(day.day), escapeForLog(e.domain));
  out += fmt::format("  policy {}", policyTypeName(p.type));
  if (!p.domain.empty() && p.domain != e.domain) out += fmt::format(" policy-domain={}", escapeForLog(p.domain));
  for (const auto& mx : p.mx_hosts) out += fmt::format(" mx={}", escapeForLog(mx, 80));
  out += fmt::format(" strings={}\n", p.strings.size());
  out += fmt::format("  record {}\n", e.tlsrpt_record.empty() ? std::string("(looked up when reporting)")
                                                            : escapeForLog(e.tlsrpt_record, 300));
  out += fmt::format("  sessions {} successful, {} failed (", e.counts.successful_sessions, e.counts.failed_sessions);
  for (std::size_t i = 0; i < SessionSourceCount; ++i) {
    out += fmt::format("{}{} {}", i == 0 ? "" : ", ", sessionSourceName(static_cast<SessionSource>(i)), e.sources[i]);
  }
  out += ")\n";
  for (const auto& row : e.counts.failures) appendRow(out, row);
}

}  // namespace

Result<StatusInput> readStatus(DayStore& store, std::optional<UtcDay> day) {
  StatusInput out;
  std::vector<UtcDay> days;
  if (day) {
    days.push_back(*day);
  } else {
    auto listed = store.days();
    if (!listed) return Unexpected{std::move(listed).error()};
    days = std::move(*listed);
  }
  for (UtcDay d : days) {
    auto entries = store.entries(d);
    if (!entries) return Unexpected{std::move(entries).error()};
    if (!entries->empty() || day) out.days.push_back(StatusDay{d, std::move(*entries)});
  }
  auto counters = store.counters();
  if (!counters) return Unexpected{std::move(counters).error()};
  out.collector = std::move(*counters);
  return out;
}

std::string formatStatusText(const StatusInput& status) {
  std::string out;
  for (const auto& day : status.days) {
    if (day.entries.empty()) out += fmt::format("{}  no sessions counted\n", formatDate(day.day));
    for (const DayEntry* e : sortedEntries(day)) appendEntry(out, day, *e);
  }
  if (!status.collector) {
    out += "collector: no counters stored yet (no commit by a running mtastsd)\n";
    return out;
  }
  const CollectorCounters& c = *status.collector;
  out += fmt::format("collector: started {}, last commit {}\n", timeOrNever(c.started_at), timeOrNever(c.last_commit));
  out += fmt::format("  datagrams received {}, accepted {}, rejected {} (invalid {}, too large {}, truncated {})\n",
                     c.value("received"), c.value("accepted"), rejected(c), c.value("rejected-invalid"),
                     c.value("rejected-too-large"), c.value("rejected-truncated"));
  out += "  counters";
  for (const auto& [name, value] : c.values) out += fmt::format(" {}={}", escapeForLog(name, 64), value);
  out += '\n';
  return out;
}

std::string formatStatusJson(const StatusInput& status) {
  JsonOut json;
  json.open({}, '{');
  json.open("days", '[');
  for (const auto& day : status.days) {
    for (const DayEntry* e : sortedEntries(day)) {
      json.open({}, '{');
      json.string("day", formatDate(day.day));
      json.string("policy-domain", e->domain);
      json.optionalString("tlsrpt-record", e->tlsrpt_record);
      writePolicyEntryMembers(json, e->counts, e->domain);
      json.open("sources", '{');
      for (std::size_t i = 0; i < SessionSourceCount; ++i) {
        json.number(sessionSourceName(static_cast<SessionSource>(i)), e->sources[i]);
      }
      json.close('}');
      json.close('}');
    }
  }
  json.close(']');
  if (!status.collector) {
    json.null("collector");
  } else {
    const CollectorCounters& c = *status.collector;
    json.open("collector", '{');
    json.string("started", formatDateTime(c.started_at));
    if (c.last_commit == 0) {
      json.null("last-commit");
    } else {
      json.string("last-commit", formatDateTime(c.last_commit));
    }
    json.number("received", c.value("received"));
    json.number("rejected", rejected(c));
    json.open("counters", '{');
    for (const auto& [name, value] : c.values) json.number(name, value);
    json.close('}');
    json.close('}');
  }
  json.close('}');
  return json.finish();
}

}  // namespace mtasts::tlsrpt
