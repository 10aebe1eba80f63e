#include "tlsrpt/report_validator.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <chrono>
#include <cstdint>
#include <algorithm>
#include <optional>
#include <set>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "common/tlsrpt_result_type.hpp"

namespace mtasts::tlsrpt {
namespace {

using Json = nlohmann::json;

constexpr std::uint64_t MaxJsonInteger = (std::uint64_t{1} << 53) - 1;

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// n digits at s[pos], as a number; nullopt when they are not all digits.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!isDigit(s[i])) return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// RFC 3339 section 5.6 date-time, as Unix seconds (a leap second counts as :59).
std::optional<std::int64_t> parseRfc3339(std::string_view s) {
  const auto year = digits(s, 0, 4);
  const auto month = digits(s, 5, 2);
  const auto mday = digits(s, 8, 2);
  const auto hour = digits(s, 11, 2);
  const auto minute = digits(s, 14, 2);
  const auto second = digits(s, 17, 2);
  if (!year || !month || !mday || !hour || !minute || !second) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                        std::chrono::month{static_cast<unsigned>(*month)},
                                        std::chrono::day{static_cast<unsigned>(*mday)}};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {  // time-secfrac = "." 1*DIGIT
    const std::size_t start = ++pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const auto oh = digits(s, pos + 1, 2);
    const auto om = digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (s[pos] == '-' ? -1 : 1) * (*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return days * 86400 + *hour * 3600 + *minute * 60 + std::min(*second, 59) - offset;
}

bool isHostnameAllowingRoot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return isValidHostname(name);
}

class Checker {
 public:
  explicit Checker(ValidationOptions options) : options_(options) {}

  void problem(const std::string& path, const std::string& what) {
    problems_.push_back(path + ": " + what);
  }
  std::vector<std::string> take() { return std::move(problems_); }

  // The member if present; reports it when required and absent.
  const Json* member(const Json& object, const std::string& path, const char* name,
                     bool required) {
    const auto it = object.find(name);
    if (it == object.end()) {
      if (required) problem(path, fmt::format("required member \"{}\" missing", name));
      return nullptr;
    }
    return &*it;
  }

  const Json* object(const Json& parent, const std::string& path, const char* name,
                     bool required) {
    const Json* v = member(parent, path, name, required);
    if (v && !v->is_object()) {
      problem(path + "." + name, fmt::format("must be an object, is {}", v->type_name()));
      return nullptr;
    }
    return v;
  }

  // A string member; returns it when present and a string.
  std::optional<std::string> string(const Json& parent, const std::string& path,
                                    const char* name, bool required) {
    const Json* v = member(parent, path, name, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      problem(path + "." + name, fmt::format("must be a string, is {}", v->type_name()));
      return std::nullopt;
    }
    std::string s = v->get<std::string>();
    if (options_.strict && s.empty()) problem(path + "." + name, "empty string");
    return s;
  }

  void count(const Json& parent, const std::string& path, const char* name) {
    const Json* v = member(parent, path, name, true);
    if (!v) return;
    const std::string at = path + "." + name;
    if (v->is_number_unsigned()) {
      if (v->get<std::uint64_t>() > MaxJsonInteger) problem(at, "count above 2^53-1");
    } else if (v->is_number_integer()) {
      problem(at, "negative count");
    } else {
      problem(at, fmt::format("must be an integer, is {}", v->is_number() ? "a fraction"
                                                                          : v->type_name()));
    }
  }

  void stringArray(const Json& parent, const std::string& path, const char* name,
                   bool hostname_patterns) {
    const Json* v = member(parent, path, name, false);
    if (!v) return;
    const std::string at = path + "." + name;
    if (!v->is_array()) {
      problem(at, fmt::format("must be an array of strings, is {}", v->type_name()));
      return;
    }
    if (options_.strict && v->empty()) problem(at, "empty array");
    for (std::size_t i = 0; i < v->size(); ++i) {
      const Json& item = (*v)[i];
      const std::string item_at = fmt::format("{}[{}]", at, i);
      if (!item.is_string()) {
        problem(item_at, fmt::format("must be a string, is {}", item.type_name()));
        continue;
      }
      std::string_view s = item.get_ref<const std::string&>();
      if (options_.strict && s.empty()) problem(item_at, "empty string");
      if (!hostname_patterns) continue;
      if (s.substr(0, 2) == "*.") s.remove_prefix(2);
      if (!isValidHostname(s)) problem(item_at, "not a hostname or *.hostname pattern");
    }
  }

  void onlyKnown(const Json& object, const std::string& path,
                 std::initializer_list<std::string_view> known) {
    if (!options_.strict) return;
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        problem(path, fmt::format("unknown member \"{}\"", escapeForLog(key, 60)));
      }
    }
  }

  void dateRange(const Json& report) {
    const Json* range = object(report, "report", "date-range", true);
    if (!range) return;
    const std::string path = "report.date-range";
    onlyKnown(*range, path, {"start-datetime", "end-datetime"});
    std::optional<std::int64_t> times[2];
    std::string texts[2];
    const char* names[2] = {"start-datetime", "end-datetime"};
    for (int i = 0; i < 2; ++i) {
      const auto s = string(*range, path, names[i], true);
      if (!s) continue;
      texts[i] = *s;
      times[i] = parseRfc3339(*s);
      if (!times[i]) {
        problem(path + "." + names[i],
                fmt::format("\"{}\" is not an RFC 3339 date-time", escapeForLog(*s, 60)));
      }
    }
    if (!times[0] || !times[1]) return;
    if (*times[0] > *times[1]) problem(path, "start-datetime after end-datetime");
    // Strict: the literal form RFC 8460 4.1 and our writer use for "a full UTC day".
    if (options_.strict && (texts[0].size() != 20 || texts[0].substr(10) != "T00:00:00Z" ||
                            texts[1] != texts[0].substr(0, 10) + "T23:59:59Z")) {
      problem(path, "not one whole UTC day (YYYY-MM-DDT00:00:00Z to YYYY-MM-DDT23:59:59Z)");
    }
  }

  void contactInfo(const Json& report) {
    const auto s = string(report, "report", "contact-info", true);
    if (!s) return;
    const std::size_t at = s->rfind('@');
    bool ok = at != std::string::npos && at > 0 && at + 1 < s->size();
    for (char c : *s) ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    if (ok) ok = isHostnameAllowingRoot(std::string_view(*s).substr(at + 1));
    if (!ok) problem("report.contact-info", "not an addr-spec (local@domain)");
  }

  void failureRow(const Json& row, const std::string& path) {
    if (!row.is_object()) {
      problem(path, fmt::format("must be an object, is {}", row.type_name()));
      return;
    }
    onlyKnown(row, path,
              {"result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
               "receiving-ip", "failed-session-count", "additional-information",
               "failure-reason-code"});
    if (const auto type = string(row, path, "result-type", true);
        type && !parseTlsRptResultType(*type)) {
      problem(path + ".result-type",
              fmt::format("\"{}\" is not an RFC 8460 result type", escapeForLog(*type, 60)));
    }
    for (const char* name : {"sending-mta-ip", "receiving-ip"}) {
      if (const auto ip = string(row, path, name, false); ip && !ip->empty() &&
                                                         !isIpAddressLiteral(*ip)) {
        problem(path + "." + name,
                fmt::format("\"{}\" is not an IP address", escapeForLog(*ip, 60)));
      }
    }
    if (const auto host = string(row, path, "receiving-mx-hostname", false);
        host && !host->empty() && !isHostnameAllowingRoot(*host)) {
      problem(path + ".receiving-mx-hostname", "not a hostname");
    }
    for (const char* name : {"receiving-mx-helo", "additional-information", "failure-reason-code"}) {
      (void)string(row, path, name, false);
    }
    count(row, path, "failed-session-count");
  }

  void policyEntry(const Json& entry, const std::string& path) {
    if (!entry.is_object()) {
      problem(path, fmt::format("must be an object, is {}", entry.type_name()));
      return;
    }
    onlyKnown(entry, path, {"policy", "summary", "failure-details"});
    if (const Json* policy = object(entry, path, "policy", true)) {
      const std::string at = path + ".policy";
      onlyKnown(*policy, at, {"policy-type", "policy-string", "policy-domain", "mx-host"});
      if (const auto type = string(*policy, at, "policy-type", true);
          type && *type != "tlsa" && *type != "sts" && *type != "no-policy-found") {
        problem(at + ".policy-type", fmt::format("\"{}\" is not tlsa, sts or no-policy-found",
                                                 escapeForLog(*type, 60)));
      }
      stringArray(*policy, at, "policy-string", false);
      if (const auto domain = string(*policy, at, "policy-domain", options_.strict);
          domain && !domain->empty() && !isHostnameAllowingRoot(*domain)) {
        problem(at + ".policy-domain", "not an A-label hostname");
      }
      stringArray(*policy, at, "mx-host", true);
    }
    if (const Json* summary = object(entry, path, "summary", true)) {
      const std::string at = path + ".summary";
      onlyKnown(*summary, at, {"total-successful-session-count", "total-failure-session-count"});
      count(*summary, at, "total-successful-session-count");
      count(*summary, at, "total-failure-session-count");
    }
    const Json* rows = member(entry, path, "failure-details", false);
    if (!rows) return;
    if (!rows->is_array()) {
      problem(path + ".failure-details", fmt::format("must be an array, is {}", rows->type_name()));
      return;
    }
    if (options_.strict && rows->empty()) problem(path + ".failure-details", "empty array");
    for (std::size_t i = 0; i < rows->size(); ++i) {
      failureRow((*rows)[i], fmt::format("{}.failure-details[{}]", path, i));
    }
  }

  void report(const Json& report) {
    if (!report.is_object()) {
      problem("report", fmt::format("must be an object, is {}", report.type_name()));
      return;
    }
    onlyKnown(report, "report",
              {"organization-name", "date-range", "contact-info", "report-id", "policies"});
    (void)string(report, "report", "organization-name", true);
    dateRange(report);
    contactInfo(report);
    if (const auto id = string(report, "report", "report-id", true); id && id->empty()) {
      if (!options_.strict) problem("report.report-id", "empty string");
    }
    const Json* policies = member(report, "report", "policies", true);
    if (!policies) return;
    if (!policies->is_array()) {
      problem("report.policies", fmt::format("must be an array, is {}", policies->type_name()));
      return;
    }
    if (options_.strict && policies->empty()) problem("report.policies", "no policy");
    for (std::size_t i = 0; i < policies->size(); ++i) {
      policyEntry((*policies)[i], fmt::format("report.policies[{}]", i));
    }
  }

 private:
  ValidationOptions options_;
  std::vector<std::string> problems_;
};

}  // namespace

std::vector<std::string> validateReportJson(std::string_view text, ValidationOptions options) {
  Checker checker(options);
  // nlohmann keeps one of two equal member names silently; RFC 7493 forbids them, so the
  // parser callback tracks the names of every open object.
  std::vector<std::set<std::string>> open_objects;
  const auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects.empty()) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(name).second) {
        checker.problem("report", fmt::format("duplicate member \"{}\"", escapeForLog(name, 60)));
      }
    }
    return true;
  };
  Json report;
  try {
    report = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    checker.problem("report", fmt::format("not valid JSON: {}", e.what()));
    return checker.take();
  }
  checker.report(report);
  return checker.take();
}

}  // namespace mtasts::tlsrpt
