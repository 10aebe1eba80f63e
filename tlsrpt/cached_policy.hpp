// The policy a mail-log session was under, as mtastsd answered it: the mail-log source of
// TLS-RPT (Postfix < 3.10 logs no policy) asks the policy cache for the session's policy
// domain. policyInForce() is the pure rule, the socketmap's own (an enforce policy, or a
// testing one with strict_testing, valid now: sts with its lines and mx patterns; tlsa where
// the answer was DANE; anything else: what Postfix applied, no-policy-found).
// CachedPolicyReader reads the cache through a policy store of its own on the process's LMDB
// env, for ONE thread (the mail-log collector's); errors read as "no policy" and are logged
// at most once a minute.
#pragma once

#include "cache/lmdb_env.hpp"
#include "cache/lmdb_policy_store.hpp"
#include "cache/policy_record.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/report_types.hpp"

#include <atomic>
#include <cstdint>
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

// The settings that decide what the socketmap answers from a cache entry
// (policy::PolicyService::decide): strict_testing, dane = auto, dane_without_sts.
struct VerdictRules {
  bool strict_testing = false;
  bool dane = false;  // DANE checks on: a cached DANE state decides where it applies
  bool dane_without_sts = false;
  bool operator==(const VerdictRules&) const = default;
};

// What the socketmap answered for `domain` (A-label) given the cache entry (null: none), by
// the same rule (policy::daneVerdict): policy type sts with policyStrings() and the mx
// patterns as written for a valid Policy entry in mode enforce (testing too when
// strict_testing); policy type tlsa (no strings) where DANE applied, over that policy
// (dane-only) or, with dane_without_sts, for a domain without one (dane); else
// no-policy-found. The descriptor's domain is `domain`.
PolicyDescriptor policyInForce(std::string_view domain, const cache::PolicyRecord* record, UnixSeconds now,
                               const VerdictRules& rules);

class CachedPolicyReader {
 public:
  // Opens the policy store in `env` (LmdbEnv::openStore rules: at startup, before other
  // threads use the env). The reader may then move to the thread that uses it.
  static Result<std::unique_ptr<CachedPolicyReader>> attach(std::shared_ptr<cache::LmdbEnv> env,
                                                            const Clock& clock, const VerdictRules& rules);

  // policyInForce() for a policy domain as Postfix logged it (any case, U-labels allowed);
  // a name that is no policy key (IP literal, invalid) gives no-policy-found under it.
  PolicyDescriptor policyFor(std::string_view domain);

  // SIGHUP may change the rules (loop thread; read by the reader's thread).
  void setRules(const VerdictRules& rules) { rules_.store(pack(rules), std::memory_order_relaxed); }

 private:
  CachedPolicyReader(std::unique_ptr<cache::LmdbPolicyStore> store, const Clock& clock, const VerdictRules& rules)
      : store_(std::move(store)), clock_(clock), rules_(pack(rules)) {}
  // One atomic word, so that a reload never shows half of the new rules.
  static std::uint8_t pack(const VerdictRules& r) {
    return static_cast<std::uint8_t>((r.strict_testing ? 1 : 0) | (r.dane ? 2 : 0) | (r.dane_without_sts ? 4 : 0));
  }
  static VerdictRules unpack(std::uint8_t bits) {
    return VerdictRules{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0};
  }

  std::unique_ptr<cache::LmdbPolicyStore> store_;
  const Clock& clock_;
  std::atomic<std::uint8_t> rules_;
  cache::PolicyRecord scratch_;  // reused: a warm lookup allocates only the descriptor
  UnixSeconds last_error_log_ = 0;
};

}  // namespace mtasts::tlsrpt
