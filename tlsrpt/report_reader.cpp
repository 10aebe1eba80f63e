#include "tlsrpt/report_reader.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <charconv>
#include <chrono>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_validator.hpp"

namespace mtasts::tlsrpt {
namespace {

using Json = nlohmann::json;

// A report is five levels deep; anything past this is not one, and nesting that deep would
// only cost stack in the DOM parser.
constexpr int MaxJsonNesting = 32;

Unexpected invalid(std::string detail) { return fail(ErrorCode::InvalidInput, std::move(detail)); }

std::string_view skipBomAndSpace(std::string_view s) noexcept {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  return s;
}

// Deepest bracket nesting outside strings; stops counting once past the limit.
int nestingDepth(std::string_view s) noexcept {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size() && deepest <= MaxJsonNesting; ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

std::string hostName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return toLowerAscii(name);
}

std::string stringOr(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> stringsOf(const Json& object, const char* name, bool hosts) {
  std::vector<std::string> out;
  const auto it = object.find(name);
  if (it == object.end() || !it->is_array()) return out;
  for (const Json& item : *it) {
    if (item.is_string()) out.push_back(hosts ? hostName(item.get<std::string>()) : item.get<std::string>());
  }
  return out;
}

std::uint64_t countOf(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

PolicyEntry policyEntryOf(const Json& entry) {
  PolicyEntry out;
  const Json& policy = entry.at("policy");
  const std::string type = stringOr(policy, "policy-type");
  out.policy.type = type == "sts" ? PolicyType::Sts : type == "tlsa" ? PolicyType::Tlsa : PolicyType::NoPolicyFound;
  out.policy.domain = hostName(stringOr(policy, "policy-domain"));
  out.policy.strings = stringsOf(policy, "policy-string", false);
  out.policy.mx_hosts = stringsOf(policy, "mx-host", true);
  const Json& summary = entry.at("summary");
  out.successful_sessions = countOf(summary, "total-successful-session-count");
  out.failed_sessions = countOf(summary, "total-failure-session-count");
  if (const auto rows = entry.find("failure-details"); rows != entry.end() && rows->is_array()) {
    for (const Json& row : *rows) {
      FailureCount failure;
      const auto result = parseTlsRptResultType(stringOr(row, "result-type"));
      if (!result) continue;  // the validator refuses these; never reached
      failure.detail.result = *result;
      failure.detail.sending_mta_ip = stringOr(row, "sending-mta-ip");
      failure.detail.receiving_mx_hostname = hostName(stringOr(row, "receiving-mx-hostname"));
      failure.detail.receiving_mx_helo = stringOr(row, "receiving-mx-helo");
      failure.detail.receiving_ip = stringOr(row, "receiving-ip");
      failure.detail.additional_information = stringOr(row, "additional-information");
      failure.detail.failure_reason_code = stringOr(row, "failure-reason-code");
      failure.sessions = countOf(row, "failed-session-count");
      out.failures.push_back(std::move(failure));
    }
  }
  return out;
}

// A problem of the validator this reader accepts (see the header): its path is contact-info.
bool tolerated(std::string_view problem) noexcept {
  return problem.starts_with("report.contact-info: ");
}

std::optional<int> digitsAt(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, value);
  if (ec != std::errc() || end != s.data() + pos + n || s[pos] == '-' || s[pos] == '+') return std::nullopt;
  return value;
}

}  // namespace

Result<UnixSeconds> parseRfc3339DateTime(std::string_view s) {
  const auto bad = [&] {
    return invalid(fmt::format("\"{}\" is not an RFC 3339 date-time", escapeForLog(s, 40)));
  };
  const auto y = digitsAt(s, 0, 4), mo = digitsAt(s, 5, 2), d = digitsAt(s, 8, 2);
  const auto h = digitsAt(s, 11, 2), mi = digitsAt(s, 14, 2), sec = digitsAt(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return bad();
  }
  const std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*mo)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *sec > 60) return bad();
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  UnixSeconds offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const auto oh = digitsAt(s, pos + 1, 2), om = digitsAt(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) return bad();
    offset = (s[pos] == '-' ? -1 : 1) * (*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const UnixSeconds days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return days * 86400 + *h * 3600 + *mi * 60 + std::min(*sec, 59) - offset;
}

bool isGzip(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

bool looksLikeJsonObject(std::string_view text) noexcept {
  return skipBomAndSpace(text).starts_with("{");
}

Result<std::string> gunzipReport(std::string_view gz, std::size_t max_json) {
  std::size_t consumed = 0;
  auto json = gzipDecompressFirstMember(gz, max_json, &consumed);
  if (!json) {
    const std::string& detail = json.error().detail;
    return fail(json.error().code, detail.starts_with("gzip") ? detail : "gzip: " + detail);
  }
  // Some mailers leave a line break or padding after the stream: that is not damage.
  const std::string_view rest = gz.substr(consumed);
  if (rest.find_first_not_of(std::string_view("\r\n \t\0", 5)) != std::string_view::npos) {
    return invalid(fmt::format("gzip: {} bytes after the gzip stream", rest.size()));
  }
  return json;
}

Result<std::string> reportJsonFromBytes(std::string_view bytes, std::size_t max_json) {
  if (isGzip(bytes)) {
    auto json = gunzipReport(bytes, max_json);
    if (json && !looksLikeJsonObject(*json)) {
      return invalid(fmt::format("gzip holds no JSON object (starts with \"{}\")",
                                 escapeForLog(json->substr(0, 16))));
    }
    return json;
  }
  if (!looksLikeJsonObject(bytes)) {
    return invalid(fmt::format("neither gzip nor a JSON object (starts with \"{}\")",
                               escapeForLog(bytes.substr(0, 16))));
  }
  if (bytes.size() > max_json) {
    return fail(ErrorCode::TooLarge, fmt::format("JSON of {} bytes, more than {}", bytes.size(), max_json));
  }
  return std::string(bytes);
}

Result<ReceivedReport> readReportJson(std::string_view text) {
  text = skipBomAndSpace(text);
  if (nestingDepth(text) > MaxJsonNesting) {
    return invalid(fmt::format("JSON nested deeper than {} levels: not a TLSRPT report", MaxJsonNesting));
  }
  std::vector<std::string> problems = validateReportJson(text);
  std::vector<std::string> accepted;
  std::erase_if(problems, [&](const std::string& p) {
    if (!tolerated(p)) return false;
    accepted.push_back(p);
    return true;
  });
  const Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  if (!problems.empty()) {
    if (!doc.is_discarded() &&
        (!doc.is_object() || (!doc.contains("organization-name") && !doc.contains("date-range")))) {
      return invalid(fmt::format("JSON, but not a TLSRPT report (no \"organization-name\" or \"date-range\" in {})",
                                 doc.is_object() ? "the object" : std::string("a ") + doc.type_name()));
    }
    std::string why = problems.front();
    if (why.starts_with("report: not valid JSON: ")) {
      why = why.substr(24);
      if (why.starts_with("[json.exception.") && why.find("] ") != std::string::npos) {
        why = why.substr(why.find("] ") + 2);  // nlohmann's exception id says nothing here
      }
      why = "not valid JSON: " + why;
    }
    if (problems.size() > 1) why += fmt::format(" (and {} more)", problems.size() - 1);
    return invalid("invalid TLSRPT report: " + why);
  }
  try {
    ReceivedReport report;
    report.organization_name = doc.at("organization-name").get<std::string>();
    report.contact_info = stringOr(doc, "contact-info");
    report.report_id = doc.at("report-id").get<std::string>();
    const Json& range = doc.at("date-range");
    auto start = parseRfc3339DateTime(range.at("start-datetime").get<std::string>());
    auto end = parseRfc3339DateTime(range.at("end-datetime").get<std::string>());
    if (!start || !end) return invalid("invalid TLSRPT report: date-range unreadable");
    report.start = *start;
    report.end = *end;
    for (const Json& entry : doc.at("policies")) report.policies.push_back(policyEntryOf(entry));
    report.tolerated = std::move(accepted);
    return report;
  } catch (const Json::exception& e) {
    // The validator checked every member read above; this is a disagreement between the two.
    return fail(ErrorCode::Internal, fmt::format("report reader: {}", e.what()));
  }
}

}  // namespace mtasts::tlsrpt
