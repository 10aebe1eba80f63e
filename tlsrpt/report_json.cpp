#include "tlsrpt/report_json.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt {
namespace {

void writeFailure(JsonOut& json, const FailureCount& row) {
  const FailureDetail& d = row.detail;
  json.open({}, '{');
  json.string("result-type", tlsRptResultTypeName(d.result));
  json.optionalString("sending-mta-ip", d.sending_mta_ip);
  json.optionalString("receiving-mx-hostname", d.receiving_mx_hostname);
  json.optionalString("receiving-mx-helo", d.receiving_mx_helo);
  json.optionalString("receiving-ip", d.receiving_ip);
  json.number("failed-session-count", row.sessions);
  json.optionalString("additional-information", d.additional_information);
  json.optionalString("failure-reason-code", d.failure_reason_code);
  json.close('}');
}

}  // namespace

void writePolicyEntryMembers(JsonOut& json, const PolicyEntry& entry, std::string_view report_domain) {
  const PolicyDescriptor& p = entry.policy;
  json.open("policy", '{');
  json.string("policy-type", policyTypeName(p.type));
  json.optionalStringArray("policy-string", p.strings);
  json.string("policy-domain", p.domain.empty() ? report_domain : std::string_view(p.domain));
  json.optionalStringArray("mx-host", p.mx_hosts);
  json.close('}');
  json.open("summary", '{');
  json.number("total-successful-session-count", entry.successful_sessions);
  json.number("total-failure-session-count", entry.failed_sessions);
  json.close('}');
  if (!entry.failures.empty()) {
    json.open("failure-details", '[');
    for (const auto& row : entry.failures) writeFailure(json, row);
    json.close(']');
  }
}

Result<std::string> writeReportJson(const Report& report) {
  const std::pair<std::string_view, const std::string*> required[] = {
      {"organization-name", &report.organization_name},
      {"contact-info", &report.contact_info},
      {"report-id", &report.report_id},
      {"policy domain", &report.policy_domain},
  };
  for (const auto& [name, value] : required) {
    if (value->empty()) {
      return fail(ErrorCode::InvalidInput, fmt::format("report has no {}", name));
    }
  }
  JsonOut json;
  json.open({}, '{');
  json.string("organization-name", report.organization_name);
  json.open("date-range", '{');
  json.string("start-datetime", formatDateTime(dayStart(report.day)));
  json.string("end-datetime", formatDateTime(dayEnd(report.day)));
  json.close('}');
  json.string("contact-info", report.contact_info);
  json.string("report-id", report.report_id);
  json.open("policies", '[');
  for (const auto& entry : report.policies) {
    json.open({}, '{');
    writePolicyEntryMembers(json, entry, report.policy_domain);
    json.close('}');
  }
  json.close(']');
  json.close('}');
  return json.finish();
}

}  // namespace mtasts::tlsrpt
