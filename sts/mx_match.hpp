// RFC 8461 section 4.1: matching an MX host name against a policy's mx patterns, and
// the syntax check of one pattern (sts-policy-mx-value = ["*."] Domain).
// Pure, allocation-free, noexcept; safe on any thread. No errors: false means "no match"
// or "not a valid pattern".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mtasts::sts {

// Case-insensitive; one trailing dot on host is ignored. "mx.example.com" matches only
// itself; "*.example.com" matches exactly one extra left-most label ("a.example.com"),
// not "example.com" and not "a.b.example.com".
bool mxMatches(std::string_view pattern, std::string_view host) noexcept;
bool anyMxMatches(const std::vector<std::string>& patterns, std::string_view host) noexcept;

// A hostname (A-labels only, no trailing dot, not an IP address) or "*." + hostname.
// Case is not checked: the parser lower-cases accepted patterns.
bool isValidMxPattern(std::string_view pattern) noexcept;

}  // namespace mtasts::sts
