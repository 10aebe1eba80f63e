// RFC 8461 section 3.2: the policy file served at /.well-known/mta-sts.txt.
// A pure function over the fetched body: no I/O, no state, safe on any thread.
// Errors: ErrorCode::TooLarge for a body over MaxPolicyBodyBytes, otherwise
// ErrorCode::InvalidInput with a reason naming the line ("line 3: missing ':'") or the
// missing field ("no mx line in mode enforce"). Untrusted text in reasons is escaped.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.hpp"
#include "sts/policy.hpp"

namespace mtasts::sts {

// RFC 8461 3.3 suggests 64 KiB as the largest policy a sender needs to accept.
inline constexpr std::size_t MaxPolicyBodyBytes = 64 * 1024;

// Lines end in LF or CRLF (the last may have none); "key: value" with no space before
// the colon; version, mode and max_age required once (first wins), mx at least once
// unless mode is none; unknown keys ignored but syntax-checked and kept in Policy::lines.
Result<Policy> parsePolicy(std::string_view body);

}  // namespace mtasts::sts
