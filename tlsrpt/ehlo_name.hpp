// RFC 8460 4.4 receiving-mx-helo ("the HELO or EHLO string from the banner announced
// during the reported session") derived from what libtlsrpt's "h" member carries: Postfix
// 3.10+ sends the receiver's whole EHLO reply, lines joined by CRLF; other libtlsrpt users
// may send just the name. Pure function, no I/O; unusable input yields "" (unknown).
#pragma once

#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

// From an EHLO reply: the Domain or address-literal after "250" and its separator ('-' or
// ' ') on the first line, ended by a space or the line end (RFC 5321 4.1.1.1 ehlo-ok-rsp).
// A first line that does not start with three digits is taken whole, if it is a name. A domain must be a valid
// hostname (returned lower-cased, one trailing dot dropped); an address literal must be
// "[IPv4]" or "[IPv6:addr]" that inet_pton accepts (returned as sent). Anything else,
// another reply code included, returns "".
std::string heloNameFromEhlo(std::string_view ehlo_response);

}  // namespace mtasts::tlsrpt
