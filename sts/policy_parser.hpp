// RFC 8461 section 3.2: the policy file served at /.well-known/mta-sts.txt.
// A pure function over the fetched body: no I/O, no state, safe on any thread.
// Errors: ErrorCode::TooLarge for a body over MaxPolicyBodyBytes (the caller's fetch limit
// never lets one through; this bounds the pure function for its other callers), otherwise
// ErrorCode::InvalidInput with a reason naming the line ("line 3: missing ':'") or the
// missing field ("no mx line in mode enforce"). Untrusted text in reasons is escaped.
// parsePolicyDetailed() keeps the line, the field and the reason apart (PolicyProblem), for
// `mtastsd --check-domain`, which explains a published policy to its author.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

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

// Why a body is not a valid policy, in parts.
struct PolicyProblem {
  ErrorCode code = ErrorCode::InvalidInput;  // TooLarge for a body over MaxPolicyBodyBytes
  std::size_t line = 0;  // 1-based; 0 when no one line is at fault (size, NUL, a missing field)
  std::string key;       // the field at fault ("version", "mode", "mx", "max_age", or an
                         // extension's key); empty when the line has no usable key
  std::string reason;    // without the line number: "mode must be enforce, testing or none"
  std::string value;     // the refused value, quoted and escaped, when reason does not show it
};

// The one-line form parsePolicy() reports:
// "line 2: mode must be enforce, testing or none, not \"test\"".
std::string describePolicyProblem(const PolicyProblem& problem);

// parsePolicy() with the problem kept in parts; the same rules and the same verdicts.
std::variant<Policy, PolicyProblem> parsePolicyDetailed(std::string_view body);

}  // namespace mtasts::sts
