// The parsed forms of RFC 8461 data: the _mta-sts TXT record and the policy file.
// Plain values, no I/O. Produced by txt_record.hpp / policy_parser.hpp, consumed by the
// policy service, the cache encoding and the verdict formatter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::sts {

// RFC 8461 3.2: max_age is capped at 31557600 seconds (about one year).
inline constexpr std::int64_t MaxAgeCap = 31'557'600;

struct StsRecord {
  std::string id;  // 1 to 32 letters or digits
};

enum class Mode { Enforce, Testing, None };
std::string_view modeName(Mode mode) noexcept;  // "enforce", "testing", "none"

struct Policy {
  Mode mode = Mode::None;
  std::int64_t max_age = 0;       // as published, already capped at MaxAgeCap
  std::vector<std::string> mx;    // patterns in policy order, lower-cased, "*.x" kept as is
  // Every "key: value" line of the body in order (unknown keys too), for TLS-RPT
  // policy-string and Postfix's policy_string attributes.
  std::vector<std::pair<std::string, std::string>> lines;
};

}  // namespace mtasts::sts
