#include "cache/record_codec.hpp"

#include "cache/record_line_codes.hpp"
#include "common/varint.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <limits>
#include <utility>

namespace mtasts::cache {
namespace {

using detail::LineCode;
using detail::LineCodes;
using enum detail::LineCode;

// Wire codes are fixed here, independent of the C++ enum order, so that reordering an
// enum never changes what is on disk.
constexpr std::array<std::pair<TlsRptResultType, std::uint16_t>, 11> FailureCodes{{
    {TlsRptResultType::StarttlsNotSupported, 201},
    {TlsRptResultType::CertificateHostMismatch, 202},
    {TlsRptResultType::CertificateNotTrusted, 203},
    {TlsRptResultType::CertificateExpired, 204},
    {TlsRptResultType::ValidationFailure, 205},
    {TlsRptResultType::StsPolicyFetchError, 301},
    {TlsRptResultType::StsPolicyInvalid, 302},
    {TlsRptResultType::StsWebpkiInvalid, 303},
    {TlsRptResultType::TlsaInvalid, 304},
    {TlsRptResultType::DnssecInvalid, 305},
    {TlsRptResultType::DaneRequired, 306},
}};

std::uint16_t failureCode(TlsRptResultType type) {
  for (const auto& [t, code] : FailureCodes) {
    if (t == type) return code;
  }
  return 0;  // refused by checkEncodable and by decode
}

bool failureType(std::uint64_t code, TlsRptResultType& out) {
  for (const auto& [t, c] : FailureCodes) {
    if (c == code) {
      out = t;
      return true;
    }
  }
  return false;
}

std::uint8_t modeCode(sts::Mode mode) {
  switch (mode) {
    case sts::Mode::Enforce: return 1;
    case sts::Mode::Testing: return 2;
    case sts::Mode::None: return 3;
  }
  return 0;
}

bool validKind(std::uint8_t kind) {
  return kind >= static_cast<std::uint8_t>(EntryKind::Policy) &&
         kind <= static_cast<std::uint8_t>(EntryKind::LookupFailed);
}

// Writes version 3 only; versions 1 and 2 are never written again.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void uv(std::uint64_t v) { appendVarint(out_, v); }
  // Zigzag maps small negative and positive times alike to small unsigned values.
  void sv(std::int64_t v) { uv(zigzagEncode(v)); }
  void str(std::string_view s) {
    uv(s.size());
    out_.append(s);
  }

 private:
  std::string& out_;
};

Result<void> invalid(std::string detail) {
  return fail(ErrorCode::InvalidInput, std::move(detail));
}

// Reads either version: the field-level methods (length, count, time, ...) pick the wire
// form of version_. Every read checks the remaining length first and names its field.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  void setVersion(std::uint8_t version) { version_ = version; }
  std::uint8_t version() const { return version_; }
  std::size_t remaining() const { return in_.size() - pos_; }

  Result<void> u8(std::uint8_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = le(raw, 1, field); !r) return r;
    v = static_cast<std::uint8_t>(raw);
    return {};
  }

  // A signed time: i64 in version 1, zigzag varint in version 2.
  Result<void> time(std::int64_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = version_ == 1 ? le(raw, 8, field) : uv(raw, field); !r) return r;
    v = version_ == 1 ? static_cast<std::int64_t>(raw) : zigzagDecode(raw);
    return {};
  }

  // An unsigned value bounded by `max` (a count, max_age, a type code): version 1 stores
  // it in `v1_bytes` fixed bytes (8 = a signed i64, so a negative one is out of range too).
  Result<void> bounded(std::uint64_t& v, std::uint64_t max, std::size_t v1_bytes,
                       const char* what, const char* field) {
    if (auto r = version_ == 1 ? le(v, v1_bytes, field) : uv(v, field); !r) return r;
    if (v > max) {
      if (v1_bytes == 8 && version_ == 1) {
        return invalid(fmt::format("record {} {} out of range", field, static_cast<std::int64_t>(v)));
      }
      return invalid(fmt::format("record {} {} {} exceeds {}", field, what, v, max));
    }
    return {};
  }

  Result<void> count(std::size_t& n, std::size_t max, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = bounded(raw, max, 4, "count", field); !r) return r;
    // Every element takes at least one byte: refuse before the caller sizes a vector.
    if (raw > remaining()) {
      return invalid(fmt::format("record {} count {} exceeds the {} bytes left", field, raw,
                                 remaining()));
    }
    n = static_cast<std::size_t>(raw);
    return {};
  }

  // A length-prefixed byte string, viewed in place (the caller copies what it keeps).
  Result<void> view(std::string_view& out, const char* field) {
    std::uint64_t len = 0;
    if (auto r = version_ == 1 ? le(len, 4, field) : uv(len, field); !r) return r;
    if (len > MaxRecordStringBytes) {
      return invalid(fmt::format("record field {} length {} exceeds {}", field, len,
                                 MaxRecordStringBytes));
    }
    if (len > remaining()) {
      return invalid(fmt::format("record field {} length {} runs past the end ({} bytes left)",
                                 field, len, remaining()));
    }
    out = in_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += out.size();
    return {};
  }

  Result<void> str(std::string& out, const char* field) {
    std::string_view bytes;
    if (auto r = view(bytes, field); !r) return r;
    out.assign(bytes);  // assign() keeps the capacity it already has
    return {};
  }

 private:
  Result<void> truncated(const char* field) const {
    return invalid(fmt::format("record truncated at field {} (offset {})", field, pos_));
  }

  Result<void> le(std::uint64_t& v, std::size_t bytes, const char* field) {
    if (remaining() < bytes) return truncated(field);
    v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    return {};
  }

  // Canonical unsigned LEB128: no final 0x00 group after another group (two spellings of one
  // value would break "decode then encode gives the same bytes"), nothing past bit 63.
  Result<void> uv(std::uint64_t& v, const char* field) {
    const std::size_t start = pos_;
    const VarintRead r = readVarint(in_, pos_);
    pos_ = r.next;  // a truncation reports the offset where the bytes ran out
    v = r.value;
    switch (r.status) {
      case VarintStatus::Ok: return {};
      case VarintStatus::Truncated: return truncated(field);
      case VarintStatus::Overflow:
        return invalid(fmt::format("record field {} varint overflows 64 bits (offset {})", field,
                                   start));
      case VarintStatus::Overlong:
        return invalid(fmt::format("record field {} varint is overlong (offset {})", field,
                                   start));
    }
    return {};
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::uint8_t version_ = 0;
};

// After mode, max_age and mx: the line codes refer to them.
Result<void> decodeLines(Reader& in, sts::Policy& policy) {
  std::size_t n = 0;
  if (auto r = in.count(n, MaxRecordLineCount, "line"); !r) return r;
  policy.lines.resize(n);  // keeps the first elements and their string capacity
  LineCodes codes(policy);
  for (std::size_t i = 0; i < n; ++i) {
    auto& [key, value] = policy.lines[i];
    std::uint8_t code = Literal;
    if (in.version() != 1) {
      if (auto r = in.u8(code, "line code"); !r) return r;
    }
    if (code != Literal) {
      if (codes.expand(code, key, value)) continue;
      return invalid(code == MxLine
                         ? fmt::format("record line {} has code 4 (mx) but no mx entry left", i)
                         : fmt::format("record line {} has unknown code {}", i, code));
    }
    if (auto r = in.str(key, "line key"); !r) return r;
    if (auto r = in.str(value, "line value"); !r) return r;
    if (in.version() == 1) continue;  // version 1 stored every line literally
    if (const LineCode would = codes.codeOf(key, value); would != Literal) {
      return invalid(fmt::format("record line {} is a non-canonical literal line (code {})", i,
                                 static_cast<unsigned>(would)));
    }
  }
  return {};
}

Result<void> decodePolicy(Reader& in, sts::Policy& policy) {
  std::uint8_t mode = 0;
  if (auto r = in.u8(mode, "mode"); !r) return r;
  switch (mode) {
    case 1: policy.mode = sts::Mode::Enforce; break;
    case 2: policy.mode = sts::Mode::Testing; break;
    case 3: policy.mode = sts::Mode::None; break;
    default: return invalid(fmt::format("record has unknown policy mode {}", mode));
  }
  std::uint64_t max_age = 0;
  if (auto r = in.bounded(max_age, sts::MaxAgeCap, 8, "value", "max_age"); !r) return r;
  policy.max_age = static_cast<std::int64_t>(max_age);
  std::size_t n = 0;
  if (auto r = in.count(n, MaxRecordMxCount, "mx"); !r) return r;
  // resize() keeps the first elements and their string capacity.
  policy.mx.resize(n);
  for (auto& mx : policy.mx) {
    if (auto r = in.str(mx, "mx"); !r) return r;
  }
  return decodeLines(in, policy);
}

Result<void> decodeFailure(Reader& in, std::optional<FailureInfo>& failure) {
  std::uint8_t has = 0;
  if (auto r = in.u8(has, "has_failure"); !r) return r;
  if (has == 0) {
    failure.reset();
    return {};
  }
  if (has != 1) return invalid(fmt::format("record has_failure flag is {}, not 0 or 1", has));
  if (!failure) failure.emplace();
  if (auto r = in.time(failure->at, "failure at"); !r) return r;
  std::uint64_t code = 0;
  constexpr auto MaxCode = std::numeric_limits<std::uint16_t>::max();
  if (auto r = in.bounded(code, MaxCode, 2, "code", "failure type"); !r) return r;
  if (!failureType(code, failure->type)) {
    return invalid(fmt::format("record has unknown failure type {}", code));
  }
  if (auto r = in.str(failure->reason, "failure reason"); !r) return r;
  return in.str(failure->txt_id, "failure txt_id");
}

Result<void> decodeDane(Reader& in, DaneInfo& dane) {
  std::uint8_t state = 0;
  if (auto r = in.u8(state, "dane state"); !r) return r;
  if (state > MaxDaneState) return invalid(fmt::format("record has unknown dane state {}", state));
  dane.state = static_cast<DaneState>(state);
  if (auto r = in.time(dane.checked_at, "dane checked_at"); !r) return r;
  return in.time(dane.expires_at, "dane expires_at");
}

Result<void> checkString(std::string_view s, const char* field) {
  if (s.size() > MaxRecordStringBytes) {
    return fail(ErrorCode::TooLarge, fmt::format("record field {} has {} bytes, limit {}",
                                                 field, s.size(), MaxRecordStringBytes));
  }
  return {};
}

}  // namespace

std::string encodeRecord(const PolicyRecord& record) {
  std::size_t size = 64 + record.txt_id.size();
  for (const auto& mx : record.policy.mx) size += mx.size() + 1;
  for (const auto& [key, value] : record.policy.lines) size += key.size() + value.size() + 2;
  if (record.last_failure) size += record.last_failure->reason.size() + record.last_failure->txt_id.size();
  std::string out;
  out.reserve(size);
  Writer w(out);
  w.u8(RecordEncodingVersion);
  w.u8(static_cast<std::uint8_t>(record.kind));
  w.str(record.txt_id);
  w.sv(record.fetched_at);
  w.sv(record.expires_at);
  w.sv(record.txt_checked_at);
  w.sv(record.last_used);
  w.u8(modeCode(record.policy.mode));
  w.uv(static_cast<std::uint64_t>(record.policy.max_age));
  w.uv(record.policy.mx.size());
  for (const auto& mx : record.policy.mx) w.str(mx);
  w.uv(record.policy.lines.size());
  LineCodes codes(record.policy);
  for (const auto& [key, value] : record.policy.lines) {
    const LineCode code = codes.codeOf(key, value);
    w.u8(code);
    if (code != Literal) continue;
    w.str(key);
    w.str(value);
  }
  w.u8(record.last_failure ? 1 : 0);
  if (record.last_failure) {
    w.sv(record.last_failure->at);
    w.uv(failureCode(record.last_failure->type));
    w.str(record.last_failure->reason);
    w.str(record.last_failure->txt_id);
  }
  w.u8(static_cast<std::uint8_t>(record.dane.state));
  w.sv(record.dane.checked_at);
  w.sv(record.dane.expires_at);
  return out;
}

Result<void> checkEncodable(const PolicyRecord& record) {
  if (!validKind(static_cast<std::uint8_t>(record.kind))) {
    return invalid("record kind is not a known EntryKind");
  }
  if (modeCode(record.policy.mode) == 0) return invalid("record policy mode is unknown");
  if (record.policy.max_age < 0 || record.policy.max_age > sts::MaxAgeCap) {
    return invalid(fmt::format("record max_age {} out of range", record.policy.max_age));
  }
  if (record.policy.mx.size() > MaxRecordMxCount) {
    return fail(ErrorCode::TooLarge, fmt::format("record has {} mx patterns, limit {}",
                                                 record.policy.mx.size(), MaxRecordMxCount));
  }
  if (record.policy.lines.size() > MaxRecordLineCount) {
    return fail(ErrorCode::TooLarge, fmt::format("record has {} policy lines, limit {}",
                                                 record.policy.lines.size(), MaxRecordLineCount));
  }
  if (auto r = checkString(record.txt_id, "txt_id"); !r) return r;
  for (const auto& mx : record.policy.mx) {
    if (auto r = checkString(mx, "mx"); !r) return r;
  }
  for (const auto& [key, value] : record.policy.lines) {
    if (auto r = checkString(key, "line key"); !r) return r;
    if (auto r = checkString(value, "line value"); !r) return r;
  }
  if (static_cast<std::uint8_t>(record.dane.state) > MaxDaneState) return invalid("record dane state is unknown");
  if (record.last_failure) {
    if (failureCode(record.last_failure->type) == 0) return invalid("failure type is unknown");
    if (auto r = checkString(record.last_failure->reason, "failure reason"); !r) return r;
    if (auto r = checkString(record.last_failure->txt_id, "failure txt_id"); !r) return r;
  }
  return {};
}

Result<void> decodeRecord(std::string_view bytes, PolicyRecord& out) {
  Reader in(bytes);
  std::uint8_t version = 0;
  if (auto r = in.u8(version, "version"); !r) return r;
  if (version < OldestRecordEncodingVersion || version > RecordEncodingVersion) {
    return invalid(fmt::format("record encoding version {} is not supported (want {} to {})",
                               version, OldestRecordEncodingVersion, RecordEncodingVersion));
  }
  in.setVersion(version);
  std::uint8_t kind = 0;
  if (auto r = in.u8(kind, "kind"); !r) return r;
  if (!validKind(kind)) return invalid(fmt::format("record has unknown kind {}", kind));
  out.kind = static_cast<EntryKind>(kind);
  if (auto r = in.str(out.txt_id, "txt_id"); !r) return r;
  if (version == 1) {
    std::string_view policy_text;  // the parsed lines below hold everything it said
    if (auto r = in.view(policy_text, "policy_text"); !r) return r;
  }
  if (auto r = in.time(out.fetched_at, "fetched_at"); !r) return r;
  if (auto r = in.time(out.expires_at, "expires_at"); !r) return r;
  if (auto r = in.time(out.txt_checked_at, "txt_checked_at"); !r) return r;
  if (auto r = in.time(out.last_used, "last_used"); !r) return r;
  if (auto r = decodePolicy(in, out.policy); !r) return r;
  if (auto r = decodeFailure(in, out.last_failure); !r) return r;
  if (version >= 3) {
    if (auto r = decodeDane(in, out.dane); !r) return r;
  } else {
    out.dane = DaneInfo{};  // not looked up yet
  }
  if (in.remaining() != 0) {
    return invalid(fmt::format("record has {} bytes of trailing garbage", in.remaining()));
  }
  return {};
}

}  // namespace mtasts::cache
