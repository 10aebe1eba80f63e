// socketmap_reply: the one mapping from what a PolicyLookup answered (postfix/policy_answer)
// to the socketmap reply Postfix reads (socketmap_table(5) status + policy verdict). Pure
// functions over values; the verdict grammar itself lives in postfix/verdict.hpp. No I/O, no
// state; logs only when a verdict cannot be used.
#pragma once

#include "common/result.hpp"
#include "postfix/policy_answer.hpp"
#include "postfix/socketmap.hpp"

#include <cstddef>
#include <string>
#include <variant>

namespace mtasts::server {

// The one mapping from an internal outcome (an answer, or an Error that stopped a request
// before any lookup) to a socketmap reply class.
postfix::ReplyStatus replyStatusFor(const std::variant<postfix::PolicyAnswer::Kind, ErrorCode>& outcome);

// The netstring payload answering a PolicyAnswer: "OK secure match=...", "OK dane-only" or
// "OK dane" (TLSRPT attributes when tlsrpt and an MTA-STS policy is given, falling back to
// the plain verdict above max_reply_size), "NOTFOUND " or "TEMP <reason>".
std::string replyForAnswer(const postfix::PolicyAnswer& answer, bool tlsrpt, std::size_t max_reply_size);
// The same, appended to `out` (the connection reuses its buffers).
void appendReplyForAnswer(std::string& out, const postfix::PolicyAnswer& answer, bool tlsrpt,
                          std::size_t max_reply_size);

}  // namespace mtasts::server
