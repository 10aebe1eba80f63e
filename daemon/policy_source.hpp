// PolicySource: what the socketmap front end asks for every normalised policy domain.
// PolicyService (policy_service.hpp) is the real one. The answer may come synchronously
// (a cached policy: the callback runs before lookup() returns, and lookup() returns a
// null handle) or later on the event loop (a resolve was needed). Destroying the returned
// handle before the callback ran cancels the wait (the resolve itself goes on).
#pragma once

#include "common/pending.hpp"
#include "sts/policy.hpp"

#include <functional>
#include <string_view>

namespace mtasts::daemon {

struct Decision {
  enum class Kind {
    Enforce,   // answer with a `secure` verdict built from `policy`
    NoPolicy,  // answer NOTFOUND: Postfix uses its default (opportunistic) level
    TempFail,  // answer TEMP `reason`: Postfix defers the mail
  };
  Kind kind = Kind::NoPolicy;
  std::string_view domain;                // the policy domain
  const sts::Policy* policy = nullptr;    // set for Enforce; valid during the callback only
  std::string_view reason;                // for TempFail and for logs

  // "Cannot tell now": Postfix defers the mail and asks again later.
  static Decision tempFail(std::string_view domain, std::string_view reason) {
    Decision d;
    d.kind = Kind::TempFail;
    d.domain = domain;
    d.reason = reason;
    return d;
  }
};

// RFC 8461 5: enforce applies; testing only when the admin asked for strict_testing
// (Postfix has no "report but deliver" level); none never.
inline bool policyIsEnforced(const sts::Policy& policy, bool strict_testing) {
  return policy.mode == sts::Mode::Enforce || (policy.mode == sts::Mode::Testing && strict_testing);
}

class PolicySource {
 public:
  using Callback = std::function<void(const Decision&)>;
  virtual ~PolicySource() = default;
  virtual RequestHandle lookup(std::string_view domain, Callback done) = 0;
};

// Until the resolver exists, or when a test needs it: every domain has no policy.
class NoPolicySource final : public PolicySource {
 public:
  RequestHandle lookup(std::string_view domain, Callback done) override {
    Decision d;
    d.domain = domain;
    done(d);
    return nullptr;
  }
};

}  // namespace mtasts::daemon
