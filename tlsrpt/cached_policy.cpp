#include "tlsrpt/cached_policy.hpp"

#include "common/domain.hpp"
#include "common/log.hpp"
#include "policy/dane_check.hpp"
#include "policy/policy_service.hpp"
#include "postfix/socketmap.hpp"

#include <algorithm>

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds ErrorLogInterval = 60;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

std::string_view trimBlanks(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What the verdict puts into Postfix's "{ policy_string = ... }" (postfix/verdict.cpp): so
// both TLS-RPT sources describe one policy with the same strings.
bool braceSafe(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '{' && c != '}';
  });
}

PolicyDescriptor noPolicyFound(std::string_view domain) {
  PolicyDescriptor d;
  d.type = PolicyType::NoPolicyFound;
  d.domain.assign(domain);
  return d;
}

}  // namespace

std::vector<std::string> policyStrings(const sts::Policy& policy) {
  std::vector<std::string> out;
  out.reserve(policy.lines.size());
  for (const auto& [raw_key, raw_value] : policy.lines) {
    const std::string_view key = trimBlanks(raw_key);
    const std::string_view value = trimBlanks(raw_value);
    if (key.empty() || !braceSafe(key) || !braceSafe(value)) continue;
    std::string line(key);
    line += ':';
    if (!value.empty()) line.append(" ").append(value);
    out.push_back(std::move(line));
  }
  return out;
}

PolicyDescriptor policyInForce(std::string_view domain, const cache::PolicyRecord* record, UnixSeconds now,
                               const VerdictRules& rules) {
  if (record == nullptr || now >= record->expires_at) return noPolicyFound(domain);
  // The engine's own rule (the verdict the socketmap gave): enforce, or testing under
  // strict_testing; then DANE where it applies (RFC 8461 2).
  const bool sts = record->kind == cache::EntryKind::Policy && !record->policy.mx.empty() &&
                   policy::policyIsEnforced(record->policy, rules.strict_testing);
  using Kind = postfix::PolicyAnswer::Kind;
  const Kind kind = rules.dane ? policy::daneVerdict(record->dane.state, sts, rules.dane_without_sts)
                               : (sts ? Kind::Enforce : Kind::NoPolicy);
  PolicyDescriptor d;
  if (kind == Kind::DaneOnly || kind == Kind::Dane) {
    // Postfix did DANE, so the session is under the domain's TLSA policy. The cache keeps the
    // DANE state, not the TLSA records, so the report names the policy without policy-string.
    d.type = PolicyType::Tlsa;
    d.domain.assign(domain);
    return d;
  }
  if (kind != Kind::Enforce) return noPolicyFound(domain);
  d.type = PolicyType::Sts;
  d.domain.assign(domain);
  d.strings = policyStrings(record->policy);
  d.mx_hosts = record->policy.mx;
  return d;
}

Result<std::unique_ptr<CachedPolicyReader>> CachedPolicyReader::attach(std::shared_ptr<cache::LmdbEnv> env,
                                                                       const Clock& clock, const VerdictRules& rules) {
  auto store = cache::LmdbPolicyStore::attach(std::move(env));
  if (!store) return Unexpected{std::move(store).error()};
  return std::unique_ptr<CachedPolicyReader>(new CachedPolicyReader(std::move(*store), clock, rules));
}

PolicyDescriptor CachedPolicyReader::policyFor(std::string_view domain) {
  // The cache is keyed as the socketmap normalises Postfix's next hop: lower case, A-label.
  const postfix::PolicyKey key = postfix::normalizePolicyKey(domain);
  if (key.domain().empty()) return noPolicyFound(toLowerAscii(domain));
  const UnixSeconds now = clock_.now();
  auto found = store_->get(key.domain(), scratch_);
  if (!found) {
    if (last_error_log_ == 0 || now - last_error_log_ >= ErrorLogInterval) {
      last_error_log_ = now;
      logger()->warn("cannot read the policy cache for a mail-log session, counting it as no-policy-found "
                     "domain={} error={}",
                     escapeForLog(key.domain()), escapeForLog(found.error().detail));
    }
    return noPolicyFound(key.domain());
  }
  return policyInForce(key.domain(), *found ? &scratch_ : nullptr, now, unpack(rules_.load(std::memory_order_relaxed)));
}

}  // namespace mtasts::tlsrpt
