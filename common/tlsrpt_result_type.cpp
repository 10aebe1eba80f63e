#include "common/tlsrpt_result_type.hpp"

#include <array>
#include <utility>

namespace mtasts {
namespace {

constexpr std::array<std::pair<TlsRptResultType, std::string_view>, 11> Names{{
    {TlsRptResultType::StarttlsNotSupported, "starttls-not-supported"},
    {TlsRptResultType::CertificateHostMismatch, "certificate-host-mismatch"},
    {TlsRptResultType::CertificateExpired, "certificate-expired"},
    {TlsRptResultType::CertificateNotTrusted, "certificate-not-trusted"},
    {TlsRptResultType::ValidationFailure, "validation-failure"},
    {TlsRptResultType::TlsaInvalid, "tlsa-invalid"},
    {TlsRptResultType::DnssecInvalid, "dnssec-invalid"},
    {TlsRptResultType::DaneRequired, "dane-required"},
    {TlsRptResultType::StsPolicyFetchError, "sts-policy-fetch-error"},
    {TlsRptResultType::StsPolicyInvalid, "sts-policy-invalid"},
    {TlsRptResultType::StsWebpkiInvalid, "sts-webpki-invalid"},
}};

}  // namespace

std::string_view tlsRptResultTypeName(TlsRptResultType type) noexcept {
  for (const auto& [t, name] : Names) {
    if (t == type) return name;
  }
  return "validation-failure";
}

std::optional<TlsRptResultType> parseTlsRptResultType(std::string_view name) noexcept {
  for (const auto& [t, n] : Names) {
    if (n == name) return t;
  }
  return std::nullopt;
}

}  // namespace mtasts
