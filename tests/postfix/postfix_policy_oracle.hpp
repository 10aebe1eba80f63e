// Test oracle: a C++ transcription of how Postfix (smtp_tls_policy.c) tokenises a
// smtp_tls_policy_maps result: mystrtokq(", \t\r\n", "{}"), extpar(STRIP) for "{...}"
// tokens, split_nameval() for "name = value". Used by unit tests and fuzzers to prove that
// every verdict we emit is one Postfix >= 3.10 accepts. Header-only, test code only;
// errors are returned as text in PostfixPolicy::error.
#pragma once

#include "common/domain.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::test {

struct PostfixPolicy {
  std::string error;  // empty when Postfix would accept the policy
  std::string level;
  std::vector<std::pair<std::string, std::string>> attributes;  // in order
  std::vector<std::string> match;  // every match= value split on ':' (secure/verify)
};

namespace oracle_detail {

inline bool isSep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// ISSPACE in Postfix is isspace() on ASCII.
inline bool isSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// mystrtokq(): skip separators, then take text up to a separator at brace level 0.
inline std::vector<std::string> tokenize(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSep(s[i])) ++i;
    if (i == s.size()) break;
    const std::size_t start = i;
    int level = 0;
    for (; i < s.size(); ++i) {
      if (s[i] == '{') ++level;
      else if (level > 0 && s[i] == '}') --level;
      else if (level == 0 && isSep(s[i])) break;
    }
    out.emplace_back(s.substr(start, i - start));
    if (i < s.size()) ++i;
  }
  return out;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// extpar(&tok, "{}", EXTPAR_FLAG_STRIP) with balpar(): error text or empty.
inline std::string extpar(std::string_view tok, std::string_view& inner) {
  int level = 0;
  std::size_t len = 0;
  for (std::size_t i = 0; i < tok.size(); ++i) {
    if (tok[i] == '{') ++level;
    else if (tok[i] == '}' && --level == 0) { len = i + 1; break; }
  }
  if (len == 0) return "missing '}'";
  if (len != tok.size()) return "syntax error after '}'";
  inner = trim(tok.substr(1, len - 2));
  return {};
}

// split_nameval(): error text or empty.
inline std::string splitNameval(std::string_view s, std::string& name, std::string& value) {
  std::size_t i = 0;
  while (i < s.size() && isSpace(s[i])) ++i;
  if (i == s.size() || s[i] == '=') return "missing attribute name";
  const std::size_t np = i;
  while (i < s.size() && !isSpace(s[i]) && s[i] != '=') ++i;
  const std::size_t ep = i;
  while (i < s.size() && isSpace(s[i])) ++i;
  if (i == s.size() || s[i] != '=') return "missing '=' after attribute name";
  name = std::string(s.substr(np, ep - np));
  value = std::string(trim(s.substr(i + 1)));
  return {};
}

inline std::vector<std::string> splitColon(const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == ':') {
      if (i > start) out.push_back(v.substr(start, i - start));  // argv_split skips empties
      start = i + 1;
    }
  }
  return out;
}

}  // namespace oracle_detail

inline PostfixPolicy parsePostfixPolicy(std::string_view text) {
  using namespace oracle_detail;
  PostfixPolicy p;
  if (text.find('\0') != std::string_view::npos) { p.error = "NUL byte truncates the C string"; return p; }
  const std::vector<std::string> tokens = tokenize(text);
  if (tokens.empty()) { p.error = "invalid empty policy"; return p; }
  p.level = tokens[0];
  const std::string_view levels[] = {"none", "may", "encrypt", "dane", "dane-only",
                                     "fingerprint", "verify", "secure"};
  bool known = false;
  for (auto l : levels) known = known || p.level == l;
  if (!known) { p.error = "invalid security level"; return p; }
  bool has_type = false;
  bool has_ext = false;
  for (std::size_t t = 1; t < tokens.size(); ++t) {
    std::string_view tok = tokens[t];
    std::string err;
    if (!tok.empty() && tok.front() == '{') err = extpar(tok, tok);
    std::string name, value;
    if (err.empty()) err = splitNameval(tok, name, value);
    if (!err.empty()) { p.error = "malformed attribute/value pair: " + err; return p; }
    if (name == "match") {
      if (p.level != "secure" && p.level != "verify") { p.error = "match at wrong level"; return p; }
      if (value.empty()) { p.error = "match has empty value"; return p; }
      for (auto& m : splitColon(value)) p.match.push_back(m);
    } else if (name == "policy_type") {
      if (has_type || (value != "sts" && value != "no-policy-found")) { p.error = "bad policy_type"; return p; }
      has_type = true;
    } else if (name == "policy_failure") {
      if (value != "sts-policy-fetch-error" && value != "sts-policy-invalid" &&
          value != "sts-webpki-invalid" && value != "validation-failure") {
        p.error = "bad policy_failure"; return p;
      }
      has_ext = true;
    } else if (name == "policy_domain") {
      if (!isValidHostname(value)) { p.error = "bad policy_domain"; return p; }
      has_ext = true;
    } else if (name == "policy_string" || name == "mx_host_pattern") {
      has_ext = true;
    } else if (name == "servername") {
      if (!isValidHostname(value)) { p.error = "bad servername"; return p; }
    } else {
      p.error = "invalid attribute name: " + name; return p;
    }
    const bool single = name == "servername" || name == "policy_domain" ||
                        name == "policy_type" || name == "policy_failure";
    const bool repeated = std::any_of(p.attributes.begin(), p.attributes.end(),
                                      [&](const auto& a) { return a.first == name; });
    if (single && repeated) { p.error = "attribute specified multiple times: " + name; return p; }
    p.attributes.emplace_back(std::move(name), std::move(value));
  }
  if (has_ext && !has_type) p.error = "built-in policy has unexpected attribute";
  return p;
}

}  // namespace mtasts::test
