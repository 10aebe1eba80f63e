// Postfix socketmap_table(5) request/reply codec and the policy-key normaliser. Pure
// functions, no I/O: requests are parsed into views of the caller's netstring payload,
// replies are appended to a caller-owned buffer. Bad requests are a Result error
// (InvalidInput); keys we must not look up are a PolicyKey with an empty domain and a
// reason, which the server answers with "NOTFOUND " at once.
#pragma once

#include "common/result.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace mtasts::postfix {

struct SocketmapRequest {
  std::string_view map_name;
  std::string_view key;
};

// "<mapname> <key>" split at the first space; error (InvalidInput) without a space or with
// an empty map name. The key may be empty (normalizePolicyKey() then skips it).
Result<SocketmapRequest> parseSocketmapRequest(std::string_view payload);

// domain() empty => answer NOTFOUND without lookup; skip_reason (a static string) says
// why: "parent domain query", "IP literal", "invalid name", "empty key", or for a UTF-8
// name that has no A-label form idnaErrorText()'s "invalid name: <why>". The lower-cased
// domain is held in the key itself (a valid name has at most 253 bytes), so normalising an
// ASCII key allocates nothing on the lookup path.
struct PolicyKey {
  static constexpr std::size_t MaxDomainBytes = 253;
  std::string_view domain() const { return {chars.data(), length}; }
  std::string_view skip_reason;
  std::size_t length = 0;
  std::array<char, MaxDomainBytes> chars{};
};

// Lowercase (ASCII), one trailing dot stripped; "[host]", "[host]:port" and "host:port"
// use host; keys starting with '.', IP literals (also [1.2.3.4], [ipv6:...], bare IPv6),
// empty, invalid names (label > 63, name > 253, non-LDH) -> skip. A host with a byte >= 0x80
// is taken as UTF-8 and becomes its A-label form (toALabels(), common/domain.hpp), or is
// skipped when it has none; ASCII hosts (xn--... too) keep the checks above and no libidn2.
PolicyKey normalizePolicyKey(std::string_view key);

enum class ReplyStatus { Ok, NotFound, Temp, Timeout, Perm };

// Longest reason text we send; Postfix logs at most 200 bytes of it anyway.
inline constexpr std::size_t kMaxReplyReasonBytes = 200;

// Appends "OK <data>", "NOTFOUND " (trailing space, data ignored), "TEMP <reason>",
// "TIMEOUT <reason>", "PERM <reason>" (the netstring payload, not the framing). Reasons
// are sanitised (bytes outside printable ASCII become '?', cut to kMaxReplyReasonBytes)
// because Postfix writes them to its log. OK data is appended verbatim: it comes from
// appendStsVerdict(), which only emits printable ASCII.
void appendReply(std::string& out, ReplyStatus status, std::string_view data);

}  // namespace mtasts::postfix
