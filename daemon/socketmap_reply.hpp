// socketmap_reply: turns what the PolicySource decided into the socketmap reply Postfix
// reads (socketmap_table(5) status + policy verdict). Pure functions over values; the
// verdict grammar itself lives in postfix/verdict.hpp. No I/O, no state.
#pragma once

#include "daemon/policy_source.hpp"
#include "postfix/socketmap.hpp"

#include <cstddef>
#include <string>
#include <variant>

namespace mtasts::daemon {

// The one mapping from an internal outcome (a Decision, or an Error that stopped a
// request before any lookup) to a socketmap reply class.
postfix::ReplyStatus replyStatusFor(const std::variant<Decision::Kind, ErrorCode>& outcome);

// The netstring payload answering a Decision: "OK secure match=..." (TLSRPT attributes
// when tlsrpt, falling back to the plain verdict above max_reply_size), "NOTFOUND " or
// "TEMP <reason>".
std::string replyForDecision(const Decision& decision, bool tlsrpt, std::size_t max_reply_size);
// The same, appended to `out` (the connection reuses its buffers).
void appendReplyForDecision(std::string& out, const Decision& decision, bool tlsrpt, std::size_t max_reply_size);

}  // namespace mtasts::daemon
