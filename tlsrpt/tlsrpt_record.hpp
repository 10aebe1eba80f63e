// RFC 8460 section 3: the _smtp._tls TXT record ("v=TLSRPTv1; rua=mailto:...,https://...").
// Pure functions over bytes already received from DNS (or carried by a libtlsrpt datagram):
// no I/O, no state, any thread. Errors: ErrorCode::NotFound when the RRset holds no or several
// v=TLSRPTv1 records, ErrorCode::InvalidInput when the one record breaks the grammar or leaves
// no usable rua, ErrorCode::TooLarge past the bounds below. Every such error means "this domain
// gets no report". Untrusted text in reasons is escaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

// Bounds on hostile input: a record longer than this is refused as a whole; only the first
// MaxReportUris usable URIs are kept (each one is a report we send: a record must not turn
// us into a mail cannon), the rest are dropped with a note.
constexpr std::size_t MaxRecordBytes = 4096;
constexpr std::size_t MaxReportUris = 8;

enum class RuaKind { Mailto, Https };

// One usable rua destination.
struct ReportUri {
  RuaKind kind = RuaKind::Mailto;
  std::string uri;      // as published, scheme folded to lower case
  std::string address;  // mailto: the percent-decoded addr-spec (local@domain, domain as written)
  std::string host;     // https: the host, lower case; mailto: the address's domain, lower case
  std::uint16_t port = 443;  // https only
  std::string target;   // https: path and query as published ("/" when the path is empty)

  bool operator==(const ReportUri&) const = default;
};

struct TlsRptRecord {
  std::vector<ReportUri> rua;        // in record order, duplicates removed; never empty
  std::vector<std::string> skipped;  // why a URI was not used (other scheme, bad address, bound)
};

// txt_rrs: one entry per TXT RR, its character-strings already joined with nothing between.
// RRs that do not begin with "v=TLSRPTv1" followed by a field delimiter are dropped; exactly
// one must remain and it must parse.
Result<TlsRptRecord> parseTlsRptRecords(const std::vector<std::string>& txt_rrs);

// One record, checked against the full RFC 8460 section 3 ABNF.
Result<TlsRptRecord> parseTlsRptRecord(std::string_view record);

// True when record begins with "v=TLSRPTv1" *WSP ";" (the discard rule of section 3).
bool looksLikeTlsRptRecord(std::string_view record) noexcept;

}  // namespace mtasts::tlsrpt
