#include "tlsrpt/report_state_codec.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "common/domain.hpp"
#include "tlsrpt/record_fields.hpp"

namespace mtasts::tlsrpt {
namespace {

Unexpected invalid(std::string detail) { return fail(ErrorCode::InvalidInput, std::move(detail)); }

Result<void> readVersion(RecordReader& in) {
  std::uint8_t v = 0;
  if (auto r = in.u8(v, 255, "version"); !r) return r;
  if (v != ReportStateVersion) return invalid(fmt::format("unknown report state version {}", v));
  return {};
}

Result<void> readEnd(const RecordReader& in) {
  if (!in.atEnd()) return invalid(fmt::format("{} bytes after the record", in.remaining()));
  return {};
}

bool isLowerHostname(std::string_view s) {
  return isValidHostname(s) && std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool fits(std::string_view s) { return s.size() <= MaxStateStringBytes; }

constexpr std::string_view DayPrefix = "day ";
constexpr std::string_view ReportPrefix = "rep ";
constexpr std::size_t DateChars = 10;

std::string indexText(int index) { return fmt::format("{:02d}", index); }

}  // namespace

std::string_view deliveryKindName(DeliveryKind kind) noexcept {
  switch (kind) {
    case DeliveryKind::Lookup: return "lookup";
    case DeliveryKind::Mailto: return "mailto";
    case DeliveryKind::Https: return "https";
  }
  return "lookup";
}

std::string_view deliveryStateName(DeliveryState state) noexcept {
  switch (state) {
    case DeliveryState::Pending: return "pending";
    case DeliveryState::Claimed: return "claimed";
    case DeliveryState::Done: return "done";
    case DeliveryState::GivenUp: return "given-up";
  }
  return "pending";
}

std::string dayPlanKey(UtcDay day) { return std::string(DayPrefix) + formatDate(day); }

std::string reportKey(UtcDay day, std::string_view domain) {
  return std::string(ReportPrefix) + formatDate(day) + " " + std::string(domain);
}

std::string deliveryKey(UtcDay day, std::string_view domain, int index) {
  return deliveryDomainPrefix(day, domain) + indexText(index);
}

std::string deliveryDayPrefix(UtcDay day) { return std::string(DeliveryKeyPrefix) + formatDate(day) + " "; }

std::string deliveryDomainPrefix(UtcDay day, std::string_view domain) {
  return deliveryDayPrefix(day) + std::string(domain) + " ";
}

Result<StateKey> parseStateKey(std::string_view key) {
  StateKey out;
  std::string_view rest;
  if (key.starts_with(DayPrefix)) {
    out.kind = StateKey::Kind::DayPlan;
  } else if (key.starts_with(ReportPrefix)) {
    out.kind = StateKey::Kind::Report;
  } else if (key.starts_with(DeliveryKeyPrefix)) {
    out.kind = StateKey::Kind::Delivery;
  } else {
    return invalid("state key of unknown kind");
  }
  rest = key.substr(4);
  if (rest.size() < DateChars) return invalid("state key without a date");
  auto day = parseUtcDay(rest.substr(0, DateChars));
  if (!day) return Unexpected{std::move(day).error()};
  out.day = *day;
  rest.remove_prefix(DateChars);
  if (out.kind == StateKey::Kind::DayPlan) {
    if (!rest.empty()) return invalid("day plan key with trailing bytes");
    return out;
  }
  if (rest.empty() || rest.front() != ' ') return invalid("state key without a domain");
  rest.remove_prefix(1);
  if (out.kind == StateKey::Kind::Delivery) {
    if (rest.size() < 4 || rest[rest.size() - 3] != ' ') return invalid("delivery key without an index");
    const std::string_view digits = rest.substr(rest.size() - 2);
    if (digits[0] < '0' || digits[0] > '9' || digits[1] < '0' || digits[1] > '9') {
      return invalid("delivery key index is not two digits");
    }
    out.index = (digits[0] - '0') * 10 + (digits[1] - '0');
    if (out.index > static_cast<int>(MaxReportUris)) return invalid("delivery key index out of range");
    rest.remove_suffix(3);
  }
  if (!isLowerHostname(rest)) return invalid("state key domain is not a lower-case hostname");
  out.domain = std::string(rest);
  return out;
}

std::string encodeDayPlan(const DayPlan& plan) {
  std::string out;
  RecordWriter w(out);
  w.u8(ReportStateVersion);
  w.sv(plan.due_at);
  w.u8(plan.built ? 1 : 0);
  w.str(plan.cursor);
  w.uv(plan.reports);
  w.uv(plan.skipped);
  return out;
}

Result<DayPlan> decodeDayPlan(std::string_view bytes) {
  RecordReader in(bytes);
  DayPlan p;
  std::uint8_t built = 0;
  if (auto r = readVersion(in); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(p.due_at, "due_at"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.u8(built, 1, "built"); !r) return Unexpected{std::move(r).error()};
  p.built = built == 1;
  if (auto r = in.str(p.cursor, 253, "cursor"); !r) return Unexpected{std::move(r).error()};
  if (!p.cursor.empty() && !isLowerHostname(p.cursor)) return invalid("cursor is not a lower-case hostname");
  if (auto r = in.uv(p.reports, UINT64_MAX, "reports"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.uv(p.skipped, UINT64_MAX, "skipped"); !r) return Unexpected{std::move(r).error()};
  if (auto r = readEnd(in); !r) return Unexpected{std::move(r).error()};
  return p;
}

Result<std::string> encodeStoredReport(const StoredReport& report) {
  if (!fits(report.report_id) || !fits(report.file_name) || !fits(report.submitter)) {
    return invalid("report id, file name or submitter over the record bound");
  }
  if (report.gzip.size() > MaxReportGzipBytes) return invalid("report over the record bound");
  std::string out;
  RecordWriter w(out);
  w.u8(ReportStateVersion);
  w.str(report.report_id);
  w.str(report.file_name);
  w.str(report.submitter);
  w.sv(report.created_at);
  w.str(report.gzip);
  return out;
}

Result<StoredReport> decodeStoredReport(std::string_view bytes) {
  RecordReader in(bytes);
  StoredReport s;
  if (auto r = readVersion(in); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.str(s.report_id, MaxStateStringBytes, "report-id"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.str(s.file_name, MaxStateStringBytes, "file name"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.str(s.submitter, MaxStateStringBytes, "submitter"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(s.created_at, "created_at"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.str(s.gzip, MaxReportGzipBytes, "gzip"); !r) return Unexpected{std::move(r).error()};
  if (auto r = readEnd(in); !r) return Unexpected{std::move(r).error()};
  return s;
}

Result<std::string> encodeDelivery(const Delivery& d) {
  const ReportUri& u = d.rua;
  if (d.kind != DeliveryKind::Lookup &&
      (!fits(u.uri) || !fits(u.address) || !fits(u.host) || !fits(u.target) ||
       (u.kind == RuaKind::Mailto) != (d.kind == DeliveryKind::Mailto))) {
    return invalid("delivery destination over the record bound or of the wrong kind");
  }
  std::string out;
  RecordWriter w(out);
  w.u8(ReportStateVersion);
  w.u8(static_cast<std::uint8_t>(d.kind));
  w.u8(static_cast<std::uint8_t>(d.state));
  if (d.kind != DeliveryKind::Lookup) {
    w.str(u.uri);
    w.str(u.address);
    w.str(u.host);
    w.uv(u.port);
    w.str(u.target);
  }
  w.sv(d.first_attempt);
  w.sv(d.last_attempt);
  w.sv(d.next_attempt);
  w.uv(d.attempts);
  w.uv(d.claim_owner);
  w.sv(d.claim_pid);
  w.sv(d.claimed_at);
  w.str(std::string_view(d.last_error).substr(0, MaxDeliveryErrorBytes));
  return out;
}

Result<Delivery> decodeDelivery(std::string_view bytes) {
  RecordReader in(bytes);
  Delivery d;
  std::uint8_t kind = 0;
  std::uint8_t state = 0;
  if (auto r = readVersion(in); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.u8(kind, 2, "kind"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.u8(state, 3, "state"); !r) return Unexpected{std::move(r).error()};
  d.kind = static_cast<DeliveryKind>(kind);
  d.state = static_cast<DeliveryState>(state);
  if (d.kind != DeliveryKind::Lookup) {
    ReportUri& u = d.rua;
    u.kind = d.kind == DeliveryKind::Mailto ? RuaKind::Mailto : RuaKind::Https;
    std::uint64_t port = 0;
    if (auto r = in.str(u.uri, MaxStateStringBytes, "uri"); !r) return Unexpected{std::move(r).error()};
    if (auto r = in.str(u.address, MaxStateStringBytes, "address"); !r) return Unexpected{std::move(r).error()};
    if (auto r = in.str(u.host, MaxStateStringBytes, "host"); !r) return Unexpected{std::move(r).error()};
    if (auto r = in.uv(port, 65535, "port"); !r) return Unexpected{std::move(r).error()};
    u.port = static_cast<std::uint16_t>(port);
    if (auto r = in.str(u.target, MaxStateStringBytes, "target"); !r) return Unexpected{std::move(r).error()};
  }
  std::uint64_t attempts = 0;
  if (auto r = in.sv(d.first_attempt, "first_attempt"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(d.last_attempt, "last_attempt"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(d.next_attempt, "next_attempt"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.uv(attempts, std::numeric_limits<std::uint32_t>::max(), "attempts"); !r) {
    return Unexpected{std::move(r).error()};
  }
  d.attempts = static_cast<std::uint32_t>(attempts);
  if (auto r = in.uv(d.claim_owner, UINT64_MAX, "claim_owner"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(d.claim_pid, "claim_pid"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.sv(d.claimed_at, "claimed_at"); !r) return Unexpected{std::move(r).error()};
  if (auto r = in.str(d.last_error, MaxDeliveryErrorBytes, "last_error"); !r) return Unexpected{std::move(r).error()};
  if (auto r = readEnd(in); !r) return Unexpected{std::move(r).error()};
  return d;
}

}  // namespace mtasts::tlsrpt
