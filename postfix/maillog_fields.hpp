// Field parsers behind parseMaillogLine(): endpoints, queue ids, verification causes, the
// delivery status line of log_adhoc.c and the "TLSRPT:" line of tlsrpt_wrapper.c. Internal
// to the postfix module (maillog_line.cpp and its tests); pure, no allocation, views only.
#pragma once

#include "postfix/maillog_line.hpp"

#include <string_view>

namespace mtasts::postfix::maillog_detail {

// Removes `prefix` from the front of `text` when it is there.
bool consume(std::string_view& text, std::string_view prefix) noexcept;

// Consumes "host[address]" and, when with_port, ":port" from the front of `rest`.
bool takeEndpoint(std::string_view& rest, bool with_port, Endpoint& out) noexcept;

// A Postfix queue id: 5 to 20 letters and digits, at least one a digit or upper case.
bool isQueueId(std::string_view text) noexcept;

// Sets verify, verify_num and reason from the text after "...failed for H[A]:P: ".
void classifyVerifyReason(MaillogEvent& ev) noexcept;

// Parses what follows "QUEUEID: to=<"; false when a required field is missing or bad.
bool parseStatusFields(std::string_view rest, MaillogEvent& ev) noexcept;

// Parses what follows "TLSRPT: ".
MaillogKind parseTlsRpt(std::string_view rest, MaillogEvent& ev) noexcept;

}  // namespace mtasts::postfix::maillog_detail
