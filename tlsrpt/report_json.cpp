#include "tlsrpt/report_json.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "tlsrpt/text_escape.hpp"

namespace mtasts::tlsrpt {
namespace {

// I-JSON (RFC 7493 2.2): integers beyond 2^53-1 lose precision in many parsers. No real day
// reaches it; a capped count is still a truthful lower bound, a rounded one would not be.
constexpr std::uint64_t MaxJsonInteger = (std::uint64_t{1} << 53) - 1;

// Writes members of nested objects and arrays with 2-space indentation. Every open() is
// matched by a close(); commas are placed by tracking whether a level has members yet.
class JsonOut {
 public:
  void open(std::string_view key, char bracket) {
    startMember(key);
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += bracket;
  }
  void string(std::string_view key, std::string_view value) {
    startMember(key);
    appendJsonString(out_, value);
  }
  void optionalString(std::string_view key, std::string_view value) {
    if (!value.empty()) string(key, value);
  }
  void number(std::string_view key, std::uint64_t value) {
    startMember(key);
    out_ += fmt::format("{}", std::min(value, MaxJsonInteger));
  }
  void optionalStringArray(std::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    open(key, '[');
    for (const auto& v : values) string({}, v);
    close(']');
  }
  std::string finish() {
    out_ += '\n';
    return std::move(out_);
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  // key empty: an array element (or the top-level value).
  void startMember(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      newline();
    }
    if (!key.empty()) {
      appendJsonString(out_, key);
      out_ += ": ";
    }
  }

  std::string out_;
  std::vector<bool> first_;
};

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

void writePolicy(JsonOut& json, const PolicyEntry& entry, const std::string& report_domain) {
  const PolicyDescriptor& p = entry.policy;
  json.open({}, '{');
  json.open("policy", '{');
  json.string("policy-type", policyTypeName(p.type));
  json.optionalStringArray("policy-string", p.strings);
  json.string("policy-domain", p.domain.empty() ? report_domain : p.domain);
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
  json.close('}');
}

}  // namespace

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
  for (const auto& entry : report.policies) writePolicy(json, entry, report.policy_domain);
  json.close(']');
  json.close('}');
  return json.finish();
}

}  // namespace mtasts::tlsrpt
