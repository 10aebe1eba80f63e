#include "tlsrpt/day_record_codec.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "common/domain.hpp"
#include "tlsrpt/record_fields.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t DigestHexChars = 32;

Result<void> invalid(std::string detail) { return fail(ErrorCode::InvalidInput, std::move(detail)); }

bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

int hexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

Result<void> readRow(RecordReader& in, FailureCount& row) {
  std::uint64_t code = 0;
  if (auto r = in.uv(code, 999, "result code"); !r) return r;
  if (!resultTypeFromCode(code, row.detail.result)) return invalid(fmt::format("unknown result code {}", code));
  FailureDetail& d = row.detail;
  const std::pair<std::string*, const char*> fields[] = {
      {&d.sending_mta_ip, "sending-mta-ip"},
      {&d.receiving_mx_hostname, "receiving-mx-hostname"},
      {&d.receiving_mx_helo, "receiving-mx-helo"},
      {&d.receiving_ip, "receiving-ip"},
      {&d.additional_information, "additional-information"},
      {&d.failure_reason_code, "failure-reason-code"},
  };
  for (const auto& [field, name] : fields) {
    if (auto r = in.str(*field, MaxDayRecordStringBytes, name); !r) return r;
  }
  if (auto r = in.uv(row.sessions, UINT64_MAX, "failed-session-count"); !r) return r;
  if (row.sessions == 0) return invalid("failure row with a count of 0");
  return {};
}

bool isCounterName(std::string_view name) {
  if (name.empty() || name.size() > MaxCounterNameBytes) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

}  // namespace

std::string dayKeyPrefix(UtcDay day) { return formatDate(day) + ' '; }

std::string dayDomainKeyPrefix(UtcDay day, std::string_view domain) {
  std::string out = dayKeyPrefix(day);
  out.append(domain);
  out += ' ';
  return out;
}

std::string dayEntryKey(UtcDay day, std::string_view domain, const EntryDigest& digest, int probe) {
  static constexpr char Digits[] = "0123456789abcdef";
  std::string out = dayDomainKeyPrefix(day, domain);
  for (std::uint8_t b : digest) {
    out += Digits[b >> 4];
    out += Digits[b & 15];
  }
  if (probe > 0) {
    out += '~';
    out += static_cast<char>('0' + probe);
  }
  return out;
}

Result<DayKey> parseDayEntryKey(std::string_view key) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::InvalidInput, fmt::format("day store key: {}", why));
  };
  if (key.size() < 11 || key[10] != ' ') return bad("no date");
  auto day = parseUtcDay(key.substr(0, 10));
  if (!day) return bad("invalid date");
  std::string_view rest = key.substr(11);
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return bad("no digest");
  DayKey out;
  out.day = *day;
  out.domain = std::string(rest.substr(0, space));
  if (!isValidHostname(out.domain) || toLowerAscii(out.domain) != out.domain) return bad("invalid domain");
  std::string_view digest = rest.substr(space + 1);
  if (digest.size() == DigestHexChars + 2 && digest[DigestHexChars] == '~' && digest.back() >= '1' &&
      digest.back() <= '0' + MaxKeyProbe) {
    out.probe = digest.back() - '0';
    digest = digest.substr(0, DigestHexChars);
  }
  if (digest.size() != DigestHexChars || !std::all_of(digest.begin(), digest.end(), isHexDigit)) {
    return bad("invalid digest");
  }
  for (std::size_t i = 0; i < out.digest.size(); ++i) {
    out.digest[i] = static_cast<std::uint8_t>(hexValue(digest[2 * i]) * 16 + hexValue(digest[2 * i + 1]));
  }
  return out;
}

std::string encodeDayRecord(const DayEntry& entry) {
  std::string out;
  RecordWriter w(out);
  const PolicyDescriptor& p = entry.counts.policy;
  w.u8(DayRecordVersion);
  w.u8(policyTypeCode(p.type));
  w.str(p.domain);
  w.list(p.strings);
  w.list(p.mx_hosts);
  w.str(entry.tlsrpt_record);
  w.uv(entry.counts.successful_sessions);
  w.uv(entry.counts.failed_sessions);
  for (std::uint64_t n : entry.sources) w.uv(n);
  w.uv(entry.counts.failures.size());
  for (const auto& row : entry.counts.failures) {
    const FailureDetail& d = row.detail;
    w.uv(resultTypeCode(d.result));
    w.str(d.sending_mta_ip);
    w.str(d.receiving_mx_hostname);
    w.str(d.receiving_mx_helo);
    w.str(d.receiving_ip);
    w.str(d.additional_information);
    w.str(d.failure_reason_code);
    w.uv(row.sessions);
  }
  return out;
}

Result<void> checkDayRecordEncodable(const DayEntry& entry) {
  const PolicyEntry& c = entry.counts;
  auto tooLarge = [](std::string detail) { return fail(ErrorCode::TooLarge, std::move(detail)); };
  if (c.policy.strings.size() > MaxDayRecordPolicyStrings) return tooLarge("too many policy strings");
  if (c.policy.mx_hosts.size() > MaxDayRecordMxHosts) return tooLarge("too many mx hosts");
  if (c.failures.size() > MaxDayRecordRows) return tooLarge("too many failure rows");
  auto fits = [](std::string_view s) { return s.size() <= MaxDayRecordStringBytes; };
  bool ok = fits(c.policy.domain) && fits(entry.tlsrpt_record) &&
            std::all_of(c.policy.strings.begin(), c.policy.strings.end(), fits) &&
            std::all_of(c.policy.mx_hosts.begin(), c.policy.mx_hosts.end(), fits);
  for (std::size_t i = 0; i < c.failures.size(); ++i) {
    const FailureDetail& d = c.failures[i].detail;
    ok = ok && fits(d.sending_mta_ip) && fits(d.receiving_mx_hostname) && fits(d.receiving_mx_helo) &&
         fits(d.receiving_ip) && fits(d.additional_information) && fits(d.failure_reason_code);
    if (c.failures[i].sessions == 0) return invalid("failure row with a count of 0");
    if (i > 0 && !(c.failures[i - 1].detail < d)) return invalid("failure rows not sorted or not distinct");
  }
  if (!ok) return tooLarge("a string exceeds the record bound");
  return {};
}

Result<void> decodeDayRecord(std::string_view bytes, DayEntry& out) {
  RecordReader in(bytes);
  std::uint8_t version = 0;
  if (auto r = in.u8(version, 255, "version"); !r) return r;
  if (version != DayRecordVersion) return invalid(fmt::format("unknown day record version {}", version));
  PolicyEntry& c = out.counts;
  std::uint8_t type = 0;
  if (auto r = in.u8(type, 255, "policy type"); !r) return r;
  if (!policyTypeFromCode(type, c.policy.type)) return invalid(fmt::format("unknown policy type {}", type));
  if (auto r = in.str(c.policy.domain, MaxDayRecordStringBytes, "policy-domain"); !r) return r;
  if (auto r = in.list(c.policy.strings, MaxDayRecordPolicyStrings, MaxDayRecordStringBytes, "policy-string"); !r) {
    return r;
  }
  if (auto r = in.list(c.policy.mx_hosts, MaxDayRecordMxHosts, MaxDayRecordStringBytes, "mx-host"); !r) return r;
  if (auto r = in.str(out.tlsrpt_record, MaxDayRecordStringBytes, "tlsrpt record"); !r) return r;
  if (auto r = in.uv(c.successful_sessions, UINT64_MAX, "successful count"); !r) return r;
  if (auto r = in.uv(c.failed_sessions, UINT64_MAX, "failed count"); !r) return r;
  for (auto& n : out.sources) {
    if (auto r = in.uv(n, UINT64_MAX, "source count"); !r) return r;
  }
  std::uint64_t rows = 0;
  if (auto r = in.uv(rows, MaxDayRecordRows, "failure row count"); !r) return r;
  c.failures.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    if (auto r = readRow(in, c.failures[i]); !r) return r;
    if (i > 0 && !(c.failures[i - 1].detail < c.failures[i].detail)) {
      return invalid("failure rows not sorted or not distinct");
    }
  }
  if (!in.atEnd()) return invalid("trailing bytes after the record");
  return {};
}

std::string encodeCounters(const CollectorCounters& counters) {
  std::string out;
  RecordWriter w(out);
  w.u8(CountersRecordVersion);
  w.sv(counters.started_at);
  w.sv(counters.last_commit);
  std::size_t n = 0;
  for (const auto& [name, value] : counters.values) n += isCounterName(name) ? 1u : 0u;
  n = std::min(n, MaxCounterValues);
  w.uv(n);
  for (const auto& [name, value] : counters.values) {
    if (n == 0) break;
    if (!isCounterName(name)) continue;
    w.str(name);
    w.uv(value);
    --n;
  }
  return out;
}

Result<void> decodeCounters(std::string_view bytes, CollectorCounters& out) {
  RecordReader in(bytes);
  std::uint8_t version = 0;
  if (auto r = in.u8(version, 255, "version"); !r) return r;
  if (version != CountersRecordVersion) return invalid(fmt::format("unknown counters record version {}", version));
  if (auto r = in.sv(out.started_at, "started_at"); !r) return r;
  if (auto r = in.sv(out.last_commit, "last_commit"); !r) return r;
  std::uint64_t n = 0;
  if (auto r = in.uv(n, MaxCounterValues, "counter count"); !r) return r;
  out.values.resize(n);
  for (auto& [name, value] : out.values) {
    if (auto r = in.str(name, MaxDayRecordStringBytes, "counter name"); !r) return r;
    if (!isCounterName(name)) return invalid("invalid counter name");
    if (auto r = in.uv(value, UINT64_MAX, "counter value"); !r) return r;
  }
  if (!in.atEnd()) return invalid("trailing bytes after the counters");
  return {};
}

}  // namespace mtasts::tlsrpt
