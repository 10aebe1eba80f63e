#include "postfix/socketmap.hpp"

#include "common/domain.hpp"

#include <algorithm>

namespace mtasts::postfix {
namespace {

constexpr std::string_view kSkipParent = "parent domain query";
constexpr std::string_view kSkipIp = "IP literal";
constexpr std::string_view kSkipInvalid = "invalid name";
constexpr std::string_view kSkipEmpty = "empty key";

PolicyKey skip(std::string_view reason) {
  PolicyKey key;
  key.skip_reason = reason;
  return key;
}

// A port or service name after "host:" ("25", "smtp", "submission"); Postfix accepts both.
bool isPortOrService(std::string_view text) noexcept {
  if (text.empty() || text.size() > 32) return false;
  for (const char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool startsWithIpv6Tag(std::string_view text) noexcept {
  return text.size() >= 5 && equalsIgnoreCaseAscii(text.substr(0, 5), "ipv6:");
}

// Postfix with SMTPUTF8 passes UTF-8 next hops as they are. Their policy domain is the
// A-label form (toALabels(): what Postfix itself looks up in DNS), so that the cache key,
// the TXT name, the policy URL, the verdict and every log line name the same ASCII domain.
// This path allocates (libidn2); pure-ASCII keys never take it.
PolicyKey fromUnicode(std::string_view host) {
  std::string alabels;
  const IdnaError error = convertToALabels(host, alabels);
  if (error == IdnaError::IpLiteral) return skip(kSkipIp);
  if (error != IdnaError::None) return skip(idnaErrorText(error));
  PolicyKey out;
  out.length = alabels.size();  // <= MaxDomainBytes: convertToALabels() checked the hostname
  std::copy(alabels.begin(), alabels.end(), out.chars.begin());
  return out;
}

}  // namespace

// dict_sockmap.c sends vstring_sprintf("%s %s", sockmap_name, key): the map name is the last
// ':' field of the table name and cannot contain a space, so the first space splits.
Result<SocketmapRequest> parseSocketmapRequest(std::string_view payload) {
  const auto space = payload.find(' ');
  if (space == std::string_view::npos) {
    return fail(ErrorCode::InvalidInput, "socketmap request has no space between map name and key");
  }
  if (space == 0) return fail(ErrorCode::InvalidInput, "socketmap request has an empty map name");
  return SocketmapRequest{payload.substr(0, space), payload.substr(space + 1)};
}

// What Postfix sends (smtp_tls_policy.c, tls_policy_lookup()): the next-hop destination as
// written in the transport, NOT case-folded (maps_create() uses DICT_FLAG_FOLD_FIX, which
// does not apply to socketmap, a pattern table). Forms: "domain", "[host]", "[host]:port",
// "host:port"; after NOTFOUND for a valid hostname it walks up with keys that keep the
// leading dot (".b.example.com", ".example.com", ".com"). Unix-domain next hops arrive as a
// pathname. RFC 8461 3.4: a [host] next hop uses host as the policy domain.
PolicyKey normalizePolicyKey(std::string_view key) {
  if (key.empty()) return skip(kSkipEmpty);
  if (key.front() == '.') return skip(kSkipParent);
  // Bare IPv6 ("::1", "2001:db8::1") before the host:port split eats its last group.
  if (isIpAddressLiteral(key)) return skip(kSkipIp);

  std::string_view host = key;
  if (key.front() == '[') {
    const auto close = key.find(']');
    if (close == std::string_view::npos) return skip(kSkipInvalid);
    host = key.substr(1, close - 1);
    const std::string_view rest = key.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !isPortOrService(rest.substr(1)))) {
      return skip(kSkipInvalid);
    }
    if (startsWithIpv6Tag(host) || isIpAddressLiteral(host)) return skip(kSkipIp);
  } else if (const auto colon = key.rfind(':'); colon != std::string_view::npos) {
    if (!isPortOrService(key.substr(colon + 1))) return skip(kSkipInvalid);
    host = key.substr(0, colon);
    if (isIpAddressLiteral(host)) return skip(kSkipIp);  // "192.0.2.1:25"
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (isIpAddressLiteral(host)) return skip(kSkipIp);  // "127.0.0.1" is also LDH-valid
  if (!isValidHostname(host) || host.size() > PolicyKey::MaxDomainBytes) {
    // Only here, off the path of every valid ASCII key, do we look for UTF-8.
    return hasNonAsciiByte(host) ? fromUnicode(host) : skip(kSkipInvalid);
  }
  PolicyKey out;
  out.length = host.size();
  std::transform(host.begin(), host.end(), out.chars.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// dict_sockmap_lookup() splits the reply at the first space and compares the first word
// exactly ("OK", "NOTFOUND", "TEMP", "TIMEOUT", "PERM"); anything else is "unknown" and
// defers mail. For errors it logs printable(reply, '?') cut to 200 bytes; we do the same
// here so that what we log and what Postfix logs agree.
void appendReply(std::string& out, ReplyStatus status, std::string_view data) {
  switch (status) {
    case ReplyStatus::Ok:
      out.append("OK ");
      out.append(data);
      return;
    case ReplyStatus::NotFound:
      out.append("NOTFOUND ");
      return;
    case ReplyStatus::Temp:
      out.append("TEMP ");
      break;
    case ReplyStatus::Timeout:
      out.append("TIMEOUT ");
      break;
    case ReplyStatus::Perm:
      out.append("PERM ");
      break;
  }
  const std::string_view reason = data.substr(0, kMaxReplyReasonBytes);
  for (const char c : reason) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
}

}  // namespace mtasts::postfix
