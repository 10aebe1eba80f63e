// The mail addresses TLS-RPT handles (mailto: rua destinations, From, contact-info), checked
// as RFC 5322 3.4.1 addr-specs restricted to what can be handed to sendmail and written into
// a header safely: a dot-atom local part (no quoted strings, no UTF-8) and a hostname domain
// (A-labels, no address literals). Pure.
#pragma once

#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

// Empty when address is such an addr-spec, else why not ("no '@'", "empty local part", ...).
std::string addrSpecProblem(std::string_view address);

// RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~
bool isAtext(char c) noexcept;

}  // namespace mtasts::tlsrpt
