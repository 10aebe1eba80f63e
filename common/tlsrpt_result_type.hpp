// The RFC 8460 section 4.3 result types. Used by the policy fetch rules and the policy service
// to classify their own failures, and later by the TLS-RPT collectors and reports.
#pragma once

#include <optional>
#include <string_view>

namespace mtasts {

enum class TlsRptResultType {
  StarttlsNotSupported,
  CertificateHostMismatch,
  CertificateExpired,
  CertificateNotTrusted,
  ValidationFailure,
  TlsaInvalid,
  DnssecInvalid,
  DaneRequired,
  StsPolicyFetchError,
  StsPolicyInvalid,
  StsWebpkiInvalid,
};

// "sts-policy-fetch-error" etc., exactly as written in RFC 8460.
std::string_view tlsRptResultTypeName(TlsRptResultType type) noexcept;
std::optional<TlsRptResultType> parseTlsRptResultType(std::string_view name) noexcept;

}  // namespace mtasts
