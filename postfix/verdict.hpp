// MTA-STS verdict formatter: turns a policy (mx patterns, policy lines) into the data part
// of a socketmap "OK <data>" reply in the smtp_tls_policy_maps grammar (smtp_tls_policy.c).
// Pure function, no I/O; appends to a caller-owned string. Refuses (returns false, appends
// nothing) instead of emitting anything Postfix would reject as an invalid policy, because
// an invalid policy defers all mail to that domain.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::postfix {

enum class VerdictFlavour {
  Plain,   // level + match= + servername=: Postfix >= 3.4 (servername=hostname appeared in 3.4)
  TlsRpt,  // Plain + policy_type/policy_domain/mx_host_pattern/policy_string: Postfix >= 3.10
};

struct StsVerdictInput {
  std::string_view policy_domain;
  std::string_view level = "secure";  // or "dane-only" later
  const std::vector<std::string>* mx = nullptr;  // policy order, "*.x" form
  const std::vector<std::pair<std::string, std::string>>* policy_lines = nullptr;  // key,value
  std::string_view policy_failure = {};  // e.g. "sts-policy-invalid"; only with TlsRpt flavour
};

// Postfix's dict_sockmap_max_reply default is 100000 bytes for the whole reply payload;
// keep a margin for "OK " and for a caller that appends a little more.
inline constexpr std::size_t kMaxVerdictBytes = 99000;

// Appends the policy data (what follows "OK ").
// Plain: "secure match=a.example.com:.example.net servername=hostname" (patterns lowercased,
// duplicates removed keeping the first, "*.x" -> ".x").
// TlsRpt: the same, then " policy_type=sts policy_domain=<d>", one " mx_host_pattern=<p>"
// per distinct valid mx line (original "*." form and case), one
// " { policy_string = <key>: <value> }" per policy line that is safe inside Postfix's
// braces (see verdict.cpp; unsafe lines are dropped),
// then " policy_failure=<x>" if set.
// Level "dane-only" emits no match=/servername= (Postfix rejects match= at DANE levels).
// Returns false and appends nothing when mx is null/empty or holds no valid pattern (never an
// empty match=), when the level is not "secure"/"dane-only", for TlsRpt when policy_domain
// is not a valid hostname or policy_failure is not one Postfix accepts, or when even the
// verdict without policy_string entries exceeds kMaxVerdictBytes (policy_string entries
// that do not fit are left out).
bool appendStsVerdict(std::string& out, const StsVerdictInput& in, VerdictFlavour flavour);

}  // namespace mtasts::postfix
