// The policy a mail-log session was under, as mtastsd answered it: the mail-log source of
// TLS-RPT (Postfix < 3.10 logs no policy) asks the policy cache for the session's policy
// domain. policyInForce() is the pure rule (an enforce policy, or a testing one with
// strict_testing, valid now: sts with its lines and mx patterns; anything else: what Postfix
// applied, no-policy-found). CachedPolicyReader reads the cache through a policy store of its
// own on the process's LMDB env, for ONE thread (the mail-log collector's); errors read as
// "no policy" and are logged at most once a minute.
#pragma once

#include "cache/lmdb_env.hpp"
#include "cache/lmdb_policy_store.hpp"
#include "cache/policy_record.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/report_types.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

// RFC 8460 policy-string entries of a cached policy: one "key: value" per policy line, both
// trimmed of blanks as Postfix trims the policy_string attributes mtastsd sends it ("key:"
// when the value is empty). Lines with bytes outside printable ASCII or with braces are left
// out, as the verdict leaves them out for Postfix 3.10+ (postfix/verdict.cpp), so that both
// TLS-RPT sources describe one policy with the same strings.
std::vector<std::string> policyStrings(const sts::Policy& policy);

// What the socketmap answered for `domain` (A-label) given the cache entry (null: none):
// policy type sts with policyStrings() and the mx patterns as written for a valid Policy
// entry in mode enforce (testing too when strict_testing), policy type tlsa (no strings)
// when DANE took precedence over that policy (the answer was dane-only), else
// no-policy-found. The descriptor's domain is `domain`.
PolicyDescriptor policyInForce(std::string_view domain, const cache::PolicyRecord* record, UnixSeconds now,
                               bool strict_testing);

class CachedPolicyReader {
 public:
  // Opens the policy store in `env` (LmdbEnv::openStore rules: at startup, before other
  // threads use the env). The reader may then move to the thread that uses it.
  static Result<std::unique_ptr<CachedPolicyReader>> attach(std::shared_ptr<cache::LmdbEnv> env,
                                                            const Clock& clock, bool strict_testing);

  // policyInForce() for a policy domain as Postfix logged it (any case, U-labels allowed);
  // a name that is no policy key (IP literal, invalid) gives no-policy-found under it.
  PolicyDescriptor policyFor(std::string_view domain);

  // SIGHUP may change strict_testing (loop thread; read by the reader's thread).
  void setStrictTesting(bool on) { strict_testing_.store(on, std::memory_order_relaxed); }

 private:
  CachedPolicyReader(std::unique_ptr<cache::LmdbPolicyStore> store, const Clock& clock, bool strict_testing)
      : store_(std::move(store)), clock_(clock), strict_testing_(strict_testing) {}

  std::unique_ptr<cache::LmdbPolicyStore> store_;
  const Clock& clock_;
  std::atomic<bool> strict_testing_;
  cache::PolicyRecord scratch_;  // reused: a warm lookup allocates only the descriptor
  UnixSeconds last_error_log_ = 0;
};

}  // namespace mtasts::tlsrpt
