#include "net/dns_client.hpp"

namespace mtasts::net {

std::string_view dnssecStatusName(DnssecStatus status) noexcept {
  switch (status) {
    case DnssecStatus::Unchecked: return "unchecked";
    case DnssecStatus::Secure: return "secure";
    case DnssecStatus::Insecure: return "insecure";
    case DnssecStatus::Bogus: return "bogus";
  }
  return "?";
}

std::string_view dnssecModeName(DnssecMode mode) noexcept {
  switch (mode) {
    case DnssecMode::Off: return "off";
    case DnssecMode::Validate: return "validate";
    case DnssecMode::TrustAd: return "trust-ad";
  }
  return "?";
}

}  // namespace mtasts::net
