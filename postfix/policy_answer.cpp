#include "postfix/policy_answer.hpp"

namespace mtasts::postfix {

std::string_view policyAnswerKindName(PolicyAnswer::Kind kind) noexcept {
  switch (kind) {
    case PolicyAnswer::Kind::Enforce: return "enforce";
    case PolicyAnswer::Kind::DaneOnly: return "dane-only";
    case PolicyAnswer::Kind::NoPolicy: return "no-policy";
    case PolicyAnswer::Kind::TempFail: return "temp-fail";
    case PolicyAnswer::Kind::Dane: return "dane";
  }
  return "?";
}

}  // namespace mtasts::postfix
