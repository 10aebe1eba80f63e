#include "net/https_client.hpp"

namespace mtasts::net {

std::optional<std::string_view> HttpsResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view httpsErrorKindName(HttpsErrorKind kind) noexcept {
  switch (kind) {
    case HttpsErrorKind::Request: return "request";
    case HttpsErrorKind::Connect: return "connect";
    case HttpsErrorKind::Timeout: return "timeout";
    case HttpsErrorKind::TlsCertificate: return "tls-certificate";
    case HttpsErrorKind::TlsOther: return "tls-other";
    case HttpsErrorKind::Protocol: return "protocol";
    case HttpsErrorKind::TooLarge: return "too-large";
  }
  return "?";
}

}  // namespace mtasts::net
