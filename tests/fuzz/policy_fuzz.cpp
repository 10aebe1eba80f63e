// libFuzzer target for the RFC 8461 policy parser (sts/policy_parser.hpp) and the MX
// matcher (sts/mx_match.hpp). The whole input is the policy body.
// Invariants for an accepted policy: 0 <= max_age <= MaxAgeCap; mx non-empty unless mode
// none; every mx is a valid, lower-case pattern that matches the hosts derived from it;
// every mx also appears in Policy::lines; no more lines and mx lines than MaxPolicyLines and
// MaxPolicyMxLines. mxMatches on arbitrary slices never crashes. parsePolicyDetailed agrees
// with parsePolicy: the same verdict, the same one-line reason, a line number within the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "common/domain.hpp"
#include "sts/mx_match.hpp"
#include "sts/policy_parser.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void checkPattern(const std::string& mx) {
  using mtasts::sts::mxMatches;
  check(mtasts::sts::isValidMxPattern(mx));
  check(mx == mtasts::toLowerAscii(mx));
  const bool wildcard = mx.rfind("*.", 0) == 0;
  const std::string host = wildcard ? "a" + mx.substr(1) : mx;
  check(mxMatches(mx, host));
  check(mxMatches(mx, host + "."));
  std::string upper = host;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  check(mxMatches(mx, upper));
  check(!mxMatches(mx, "x." + host));  // one label more never matches
  if (wildcard) check(!mxMatches(mx, mx.substr(2)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const auto policy = mtasts::sts::parsePolicy(body);
  if (policy) {
    check(policy->max_age >= 0 && policy->max_age <= mtasts::sts::MaxAgeCap);
    check(policy->mode == mtasts::sts::Mode::None || !policy->mx.empty());
    check(policy->lines.size() >= policy->mx.size() + 3);
    // What the record codec is sized for (cache/record_codec.hpp asserts it takes these).
    check(policy->lines.size() <= mtasts::sts::MaxPolicyLines && policy->mx.size() <= mtasts::sts::MaxPolicyMxLines);
    std::size_t mx_lines = 0;
    for (const auto& [key, value] : policy->lines) {
      check(!key.empty() && !value.empty());
      if (key == "mx") check(mtasts::toLowerAscii(value) == policy->mx[mx_lines++]);
    }
    check(mx_lines == policy->mx.size());
    for (const auto& mx : policy->mx) checkPattern(mx);
  } else {
    check(!policy.error().detail.empty());
  }
  const auto detailed = mtasts::sts::parsePolicyDetailed(body);
  if (const auto* problem = std::get_if<mtasts::sts::PolicyProblem>(&detailed)) {
    check(!policy);
    check(mtasts::sts::describePolicyProblem(*problem) == policy.error().detail);
    check(problem->code == policy.error().code);
    std::size_t lines = 1;
    for (char c : body) lines += c == '\n' ? 1u : 0u;
    check(problem->line <= lines);
  } else {
    check(policy.has_value());
    check(std::get<mtasts::sts::Policy>(detailed).lines == policy->lines);
  }

  // The matcher on arbitrary bytes: split at the first newline into pattern and host.
  const std::size_t nl = body.find('\n');
  const std::string_view first = body.substr(0, nl);
  const std::string_view second =
      nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
  (void)mtasts::sts::mxMatches(first, second);
  (void)mtasts::sts::mxMatches(second, first);
  if (!first.empty() && first.rfind("*.", 0) != 0 && first.back() != '.') {
    check(mtasts::sts::mxMatches(first, first));  // a literal pattern matches itself
  }
  return 0;
}
