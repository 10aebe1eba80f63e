// PolicyAnswer / PolicyLookup: the contract between the socketmap server (server/) and
// whatever answers a policy query for one normalised next-hop domain (policy/'s
// PolicyService today). The answer may come synchronously (the callback runs before
// lookup() returns, and lookup() returns a null handle) or later on the event loop;
// destroying the returned handle before the callback ran cancels the wait (work the
// lookup started may go on). The views in a PolicyAnswer are valid during the callback
// only. No I/O here; errors are answers (TempFail with a reason).
#pragma once

#include "common/pending.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::postfix {

struct PolicyAnswer {
  enum class Kind {
    Enforce,   // "secure" verdict from the MTA-STS policy's mx patterns
    DaneOnly,  // "dane-only" verdict (DANE wins over MTA-STS, RFC 8461 2); mx/lines as for
               // Enforce when an MTA-STS policy exists, else null (a bare "dane-only")
    NoPolicy,  // NOTFOUND: Postfix uses its default (opportunistic) level
    TempFail,  // TEMP `reason`: Postfix defers the mail
    Dane,      // "dane" verdict: opportunistic DANE (RFC 7672) for a domain without MTA-STS
  };
  Kind kind = Kind::NoPolicy;
  std::string_view domain;                                                // the policy domain
  const std::vector<std::string>* mx = nullptr;                           // policy order, "*.x" kept
  const std::vector<std::pair<std::string, std::string>>* policy_lines = nullptr;  // key, value
  std::string_view reason;  // TempFail's reason; for logs otherwise

  // "Cannot tell now": Postfix defers the mail and asks again later.
  static PolicyAnswer tempFail(std::string_view domain, std::string_view reason) {
    PolicyAnswer a;
    a.kind = Kind::TempFail;
    a.domain = domain;
    a.reason = reason;
    return a;
  }
};

std::string_view policyAnswerKindName(PolicyAnswer::Kind kind) noexcept;  // "enforce", ...

class PolicyLookup {
 public:
  using Callback = std::function<void(const PolicyAnswer&)>;
  virtual ~PolicyLookup() = default;
  virtual RequestHandle lookup(std::string_view domain, Callback done) = 0;
};

}  // namespace mtasts::postfix
