#include "postfix/verdict.hpp"

#include "common/domain.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_set>
#include <vector>

// How Postfix parses what we emit (smtp_tls_policy.c, tls_policy_lookup_one()):
// - The result is split with mystrtokq(&policy, CHARS_COMMA_SP, CHARS_BRACE), i.e. on runs
//   of ", \t\r\n", except inside "{...}". The first token is the level; every other token is
//   "name=value" (split_nameval(): name up to the first space or '=', value trimmed), or
//   "{ name = value }" which extpar() unwraps (EXTPAR_FLAG_STRIP trims blanks inside the
//   braces; 3.10 also normalises whitespace). Braces are the ONLY quoting: no escapes.
// - mystrtokq counts '{' nesting and lets '}' close a level; extpar() then fails with
//   "missing '}'" for an unbalanced '{' and "syntax error after '}'" for text after an
//   early '}'. Either one makes the whole policy invalid (TLS_LEV_INVALID: mail deferred).
// - Unknown attribute names are invalid too, so the TLSRPT names (policy_type,
//   policy_domain, mx_host_pattern, policy_string, policy_failure, policy_ttl) must only go
//   to Postfix >= 3.10, and any of them without policy_type is invalid ("built-in policy
//   has unexpected attribute").
// - match= is accepted only at levels fingerprint, verify and secure; for verify/secure its
//   value is split on ':' (argv_split(val, ":")), several match= attributes append. A leading
//   '.' matches any subdomain ("*.example.com" -> ".example.com"; looser than RFC 8461's
//   one-label wildcard, which mx_host_pattern lets Postfix >= 3.10.5 enforce).
// - servername= must pass valid_hostname(); "hostname" (since 3.4) means "SNI = MX name".
// - policy_domain must pass valid_hostname(); policy_type must be "sts" or "no-policy-found";
//   policy_failure one of the four names in kPolicyFailures (tlsrpt_wrapper.c).
// - With smtputf8_enable the lookup result must be valid UTF-8 or the lookup fails.
namespace mtasts::postfix {
namespace {

constexpr std::array<std::string_view, 4> kPolicyFailures = {
    "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid", "validation-failure"};

struct MxPattern {
  bool wildcard = false;      // "*.x": Postfix's match form is ".x"
  std::string_view host;      // without "*.", case as in the policy
  std::string_view original;  // as in the policy, for mx_host_pattern
};

char lowerAscii(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string matchForm(const MxPattern& p) {
  std::string form = p.wildcard ? "." : "";
  for (char c : p.host) form.push_back(lowerAscii(c));
  return form;
}

bool sameMatchForm(const MxPattern& a, const MxPattern& b) noexcept {
  return a.wildcard == b.wildcard && a.host.size() == b.host.size() &&
         std::equal(a.host.begin(), a.host.end(), b.host.begin(),
                    [](char x, char y) { return lowerAscii(x) == lowerAscii(y); });
}

// Above this many patterns duplicates are found with a hash set: a 64 KiB policy can list
// thousands, and a pairwise check would cost every lookup for that domain milliseconds.
constexpr std::size_t kLinearDedupLimit = 32;

// Valid patterns in policy order, duplicates (case-insensitive) removed keeping the first,
// into `out` (cleared; the caller reuses it, so a lookup allocates nothing here).
// Invalid patterns are skipped: one with ':' or a space would split Postfix's match list.
void usablePatterns(const std::vector<std::string>& mx, std::vector<MxPattern>& out) {
  out.clear();
  std::unordered_set<std::string> seen_forms;
  for (const std::string& pattern : mx) {
    const std::string_view p = pattern;
    MxPattern m;
    m.wildcard = p.size() > 2 && p.substr(0, 2) == "*.";
    m.host = m.wildcard ? p.substr(2) : p;
    m.original = p;
    if (!isValidHostname(m.host)) continue;
    const bool seen = mx.size() <= kLinearDedupLimit
                          ? std::any_of(out.begin(), out.end(), [&](const MxPattern& o) { return sameMatchForm(o, m); })
                          : !seen_forms.insert(matchForm(m)).second;
    if (!seen) out.push_back(m);
  }
}

std::string_view trimSpaces(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Bytes we put inside "{ policy_string = ... }": printable ASCII except the braces. A line
// with anything else is DROPPED, not escaped: Postfix has no escape syntax, an unbalanced
// brace invalidates the whole policy, control characters would be rewritten or cut (NUL),
// and non-ASCII can fail the UTF-8 check. Dropping loses one line of the TLS-RPT
// policy-string; the security verdict (match=, mx_host_pattern) is unaffected.
bool isBraceSafe(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '{' && c != '}';
  });
}

bool isKnownPolicyFailure(std::string_view value) noexcept {
  return std::find(kPolicyFailures.begin(), kPolicyFailures.end(), value) != kPolicyFailures.end();
}

// Appends policy_string entries to the verdict that starts at out[base].
void appendPolicyStrings(std::string& out, std::size_t base, const StsVerdictInput& in, std::size_t reserve) {
  if (in.policy_lines == nullptr) return;
  for (const auto& [raw_key, raw_value] : *in.policy_lines) {
    // split_nameval() trims the value, so trim here too: what Postfix reports is what we send.
    const std::string_view key = trimSpaces(raw_key);
    const std::string_view value = trimSpaces(raw_value);
    if (key.empty() || !isBraceSafe(key) || !isBraceSafe(value)) continue;
    const std::size_t add = 23 + key.size() + value.size();  // " { policy_string = " ": " " }"
    if (out.size() - base + add + reserve > kMaxVerdictBytes) return;  // keep the verdict deliverable
    out.append(" { policy_string = ").append(key).append(":");
    if (!value.empty()) out.append(" ").append(value);
    out.append(" }");
  }
}

}  // namespace

bool appendStsVerdict(std::string& out, const StsVerdictInput& in, VerdictFlavour flavour) {
  if (in.mx == nullptr || in.mx->empty()) return false;
  const bool secure = in.level == "secure";
  if (!secure && in.level != "dane-only") return false;
  thread_local std::vector<MxPattern> patterns;  // views into *in.mx, reused between calls
  usablePatterns(*in.mx, patterns);
  if (patterns.empty()) return false;
  const bool tlsrpt = flavour == VerdictFlavour::TlsRpt;
  if (tlsrpt && (!isValidHostname(in.policy_domain) ||
                 (!in.policy_failure.empty() && !isKnownPolicyFailure(in.policy_failure)))) {
    return false;
  }

  // Built in place; on any refusal `out` is cut back to what it held.
  const std::size_t base = out.size();
  const auto size = [&] { return out.size() - base; };
  out.append(in.level);
  if (secure) {
    out.append(" match=");
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (i > 0) out.push_back(':');
      if (patterns[i].wildcard) out.push_back('.');
      for (char c : patterns[i].host) out.push_back(lowerAscii(c));
    }
    out.append(" servername=hostname");
  }
  if (tlsrpt) {
    out.append(" policy_type=sts policy_domain=").append(in.policy_domain);
    for (const MxPattern& p : patterns) out.append(" mx_host_pattern=").append(p.original);
    const std::size_t tail = in.policy_failure.empty() ? 0 : 16 + in.policy_failure.size();
    if (size() + tail > kMaxVerdictBytes) {
      out.resize(base);
      return false;
    }
    appendPolicyStrings(out, base, in, tail);
    if (!in.policy_failure.empty()) out.append(" policy_failure=").append(in.policy_failure);
  }
  if (size() > kMaxVerdictBytes) {
    out.resize(base);
    return false;
  }
  return true;
}

}  // namespace mtasts::postfix
