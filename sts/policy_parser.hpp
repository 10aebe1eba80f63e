// RFC 8461 section 3.2: the policy file served at /.well-known/mta-sts.txt.
// A pure function over the fetched body: no I/O, no state, safe on any thread.
// Errors: ErrorCode::TooLarge for a body over MaxPolicyBodyBytes (the caller's fetch limit
// never lets one through; this bounds the pure function for its other callers), otherwise
// ErrorCode::InvalidInput with a reason naming the line ("line 3: missing ':'") or the
// missing field ("no mx line in mode enforce"). Untrusted text in reasons is escaped.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.hpp"
#include "sts/policy.hpp"

namespace mtasts::sts {

// RFC 8461 3.3 suggests 64 KiB as the largest policy a sender needs to accept. This is
// the ceiling of the max_policy_size setting, which the fetcher enforces while reading.
inline constexpr std::size_t MaxPolicyBodyBytes = 64 * 1024;

// The most lines, and mx lines, a body within MaxPolicyBodyBytes can hold: every line is
// at least "k:v" (3 bytes) and every mx line at least "mx:a" (4), each but the last
// followed by LF. A store of parsed policies must take that many (cache/record_codec.hpp
// asserts it), or a valid policy would be applied once and then fetched on every query.
inline constexpr std::size_t MaxPolicyLines = (MaxPolicyBodyBytes + 1) / 4;
inline constexpr std::size_t MaxPolicyMxLines = (MaxPolicyBodyBytes + 1) / 5;

// Lines end in LF or CRLF (the last may have none); "key: value" with no space before
// the colon; version, mode and max_age required once (first wins), mx at least once
// unless mode is none; unknown keys ignored but syntax-checked and kept in Policy::lines.
Result<Policy> parsePolicy(std::string_view body);

}  // namespace mtasts::sts
