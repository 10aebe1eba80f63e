#include "cache/record_codec.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <utility>

namespace mtasts::cache {
namespace {

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

bool failureType(std::uint16_t code, TlsRptResultType& out) {
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

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { le(v, 2); }
  void u32(std::uint32_t v) { le(v, 4); }
  void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }

 private:
  void le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string& out_;
};

// Every read checks the remaining length first and names the field it failed on.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  Result<void> u8(std::uint8_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = le(raw, 1, field); !r) return r;
    v = static_cast<std::uint8_t>(raw);
    return {};
  }
  Result<void> u16(std::uint16_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = le(raw, 2, field); !r) return r;
    v = static_cast<std::uint16_t>(raw);
    return {};
  }
  Result<void> u32(std::uint32_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = le(raw, 4, field); !r) return r;
    v = static_cast<std::uint32_t>(raw);
    return {};
  }
  Result<void> i64(std::int64_t& v, const char* field) {
    std::uint64_t raw = 0;
    if (auto r = le(raw, 8, field); !r) return r;
    v = static_cast<std::int64_t>(raw);
    return {};
  }
  Result<void> str(std::string& out, const char* field) {
    std::uint32_t len = 0;
    if (auto r = u32(len, field); !r) return r;
    if (len > MaxRecordStringBytes) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("record field {} length {} exceeds {}", field, len,
                              MaxRecordStringBytes));
    }
    if (len > in_.size() - pos_) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("record field {} length {} runs past the end ({} bytes left)",
                              field, len, in_.size() - pos_));
    }
    out.assign(in_.data() + pos_, len);  // assign() keeps the capacity it already has
    pos_ += len;
    return {};
  }
  Result<void> count(std::uint32_t& n, std::size_t max, const char* field) {
    if (auto r = u32(n, field); !r) return r;
    if (n > max) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("record {} count {} exceeds {}", field, n, max));
    }
    return {};
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  Result<void> le(std::uint64_t& v, std::size_t bytes, const char* field) {
    if (remaining() < bytes) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("record truncated at field {} (offset {})", field, pos_));
    }
    v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    return {};
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

Result<void> invalid(std::string detail) {
  return fail(ErrorCode::InvalidInput, std::move(detail));
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
  if (auto r = in.i64(policy.max_age, "max_age"); !r) return r;
  if (policy.max_age < 0 || policy.max_age > sts::MaxAgeCap) {
    return invalid(fmt::format("record max_age {} out of range", policy.max_age));
  }
  std::uint32_t n = 0;
  if (auto r = in.count(n, MaxRecordMxCount, "mx"); !r) return r;
  // resize() keeps the first elements and their string capacity.
  policy.mx.resize(n);
  for (auto& mx : policy.mx) {
    if (auto r = in.str(mx, "mx"); !r) return r;
  }
  if (auto r = in.count(n, MaxRecordLineCount, "line"); !r) return r;
  policy.lines.resize(n);
  for (auto& [key, value] : policy.lines) {
    if (auto r = in.str(key, "line key"); !r) return r;
    if (auto r = in.str(value, "line value"); !r) return r;
  }
  return {};
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
  if (auto r = in.i64(failure->at, "failure at"); !r) return r;
  std::uint16_t code = 0;
  if (auto r = in.u16(code, "failure type"); !r) return r;
  if (!failureType(code, failure->type)) {
    return invalid(fmt::format("record has unknown failure type {}", code));
  }
  if (auto r = in.str(failure->reason, "failure reason"); !r) return r;
  return in.str(failure->txt_id, "failure txt_id");
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
  std::string out;
  out.reserve(64 + record.txt_id.size() + record.policy_text.size() +
              record.policy.mx.size() * 24 + record.policy.lines.size() * 32);
  Writer w(out);
  w.u8(RecordEncodingVersion);
  w.u8(static_cast<std::uint8_t>(record.kind));
  w.str(record.txt_id);
  w.str(record.policy_text);
  w.i64(record.fetched_at);
  w.i64(record.expires_at);
  w.i64(record.txt_checked_at);
  w.i64(record.last_used);
  w.u8(modeCode(record.policy.mode));
  w.i64(record.policy.max_age);
  w.u32(static_cast<std::uint32_t>(record.policy.mx.size()));
  for (const auto& mx : record.policy.mx) w.str(mx);
  w.u32(static_cast<std::uint32_t>(record.policy.lines.size()));
  for (const auto& [key, value] : record.policy.lines) {
    w.str(key);
    w.str(value);
  }
  w.u8(record.last_failure ? 1 : 0);
  if (record.last_failure) {
    w.i64(record.last_failure->at);
    w.u16(failureCode(record.last_failure->type));
    w.str(record.last_failure->reason);
    w.str(record.last_failure->txt_id);
  }
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
  if (auto r = checkString(record.policy_text, "policy_text"); !r) return r;
  for (const auto& mx : record.policy.mx) {
    if (auto r = checkString(mx, "mx"); !r) return r;
  }
  for (const auto& [key, value] : record.policy.lines) {
    if (auto r = checkString(key, "line key"); !r) return r;
    if (auto r = checkString(value, "line value"); !r) return r;
  }
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
  if (version != RecordEncodingVersion) {
    return invalid(fmt::format("record encoding version {} is not supported (want {})",
                               version, RecordEncodingVersion));
  }
  std::uint8_t kind = 0;
  if (auto r = in.u8(kind, "kind"); !r) return r;
  if (!validKind(kind)) return invalid(fmt::format("record has unknown kind {}", kind));
  out.kind = static_cast<EntryKind>(kind);
  if (auto r = in.str(out.txt_id, "txt_id"); !r) return r;
  if (auto r = in.str(out.policy_text, "policy_text"); !r) return r;
  if (auto r = in.i64(out.fetched_at, "fetched_at"); !r) return r;
  if (auto r = in.i64(out.expires_at, "expires_at"); !r) return r;
  if (auto r = in.i64(out.txt_checked_at, "txt_checked_at"); !r) return r;
  if (auto r = in.i64(out.last_used, "last_used"); !r) return r;
  if (auto r = decodePolicy(in, out.policy); !r) return r;
  if (auto r = decodeFailure(in, out.last_failure); !r) return r;
  if (in.remaining() != 0) {
    return invalid(fmt::format("record has {} bytes of trailing garbage", in.remaining()));
  }
  return {};
}

}  // namespace mtasts::cache
