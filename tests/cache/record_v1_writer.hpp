// A writer of record encoding version 1, the layout earlier releases stored in LMDB, kept
// in the tests only: it builds the v1 bytes that the codec must still decode, written from
// the layout in record_codec.hpp rather than from the codec's own code. Test use only; it
// checks no bounds.
#pragma once

#include "cache/policy_record.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace mtasts::cache::test {

class RecordV1Writer {
 public:
  // The v1 bytes of `record` with `policy_text` as the stored body (the field v2 dropped).
  static std::string encode(const PolicyRecord& record, std::string_view policy_text) {
    RecordV1Writer w;
    w.u8(1);
    w.u8(static_cast<std::uint8_t>(record.kind));
    w.str(record.txt_id);
    w.str(policy_text);
    for (UnixSeconds t : {record.fetched_at, record.expires_at, record.txt_checked_at,
                          record.last_used}) {
      w.le(static_cast<std::uint64_t>(t), 8);
    }
    w.u8(modeCode(record.policy.mode));
    w.le(static_cast<std::uint64_t>(record.policy.max_age), 8);
    w.le(record.policy.mx.size(), 4);
    for (const auto& mx : record.policy.mx) w.str(mx);
    w.le(record.policy.lines.size(), 4);
    for (const auto& [key, value] : record.policy.lines) {
      w.str(key);
      w.str(value);
    }
    w.u8(record.last_failure ? 1 : 0);
    if (record.last_failure) {
      w.le(static_cast<std::uint64_t>(record.last_failure->at), 8);
      w.le(typeCode(record.last_failure->type), 2);
      w.str(record.last_failure->reason);
      w.str(record.last_failure->txt_id);
    }
    return std::move(w.out_);
  }

  // The policy body that `record.policy.lines` came from, LF line ends (what v1 stored).
  static std::string bodyOf(const PolicyRecord& record) {
    std::string body;
    for (const auto& [key, value] : record.policy.lines) body += key + ": " + value + "\n";
    return body;
  }

 private:
  static std::uint8_t modeCode(sts::Mode mode) {
    switch (mode) {
      case sts::Mode::Enforce: return 1;
      case sts::Mode::Testing: return 2;
      case sts::Mode::None: return 3;
    }
    return 0;
  }

  static std::uint64_t typeCode(TlsRptResultType type) {
    switch (type) {
      case TlsRptResultType::StarttlsNotSupported: return 201;
      case TlsRptResultType::CertificateHostMismatch: return 202;
      case TlsRptResultType::CertificateNotTrusted: return 203;
      case TlsRptResultType::CertificateExpired: return 204;
      case TlsRptResultType::ValidationFailure: return 205;
      case TlsRptResultType::StsPolicyFetchError: return 301;
      case TlsRptResultType::StsPolicyInvalid: return 302;
      case TlsRptResultType::StsWebpkiInvalid: return 303;
      case TlsRptResultType::TlsaInvalid: return 304;
      case TlsRptResultType::DnssecInvalid: return 305;
      case TlsRptResultType::DaneRequired: return 306;
    }
    return 0;
  }

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void str(std::string_view s) {
    le(s.size(), 4);
    out_.append(s);
  }

  std::string out_;
};

}  // namespace mtasts::cache::test
