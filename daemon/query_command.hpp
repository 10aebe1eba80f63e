// `mtastsd --query DOMAIN [--json]`: one live discovery and fetch with the configured DNS
// and CA, and the DANE check beside it (the MX and TLSA answers with their DNSSEC status),
// no cache, printed for a human (or as JSON) with the verdict each map flavour would get.
// Exit status (MTA-STS alone): 0 policy found, 1 no policy, 2 failure (DNS, fetch, invalid).
#pragma once

#include "policy/policy_resolver.hpp"

#include <optional>
#include <string>
#include <vector>

struct event_base;

namespace mtasts::daemon {

using policy::DiscoveryOutcome;
using policy::FetchOutcome;
using policy::PolicyResolver;

struct QueryReport {
  std::string domain;       // the policy domain: the A-label form of a UTF-8 key
  std::string unicode_key;  // the key as given when it was UTF-8 and converted, else empty
  std::string skip_reason;  // set when the key would get NOTFOUND without any lookup
  DiscoveryOutcome discovery;
  std::optional<FetchOutcome> fetch;
  std::optional<policy::DaneOutcome> dane;  // set when the DANE check ran
};

struct QueryFormat {
  bool json = false;
  bool strict_testing = false;
  std::string plain_map = "postfix";
  std::string tlsrpt_map;  // empty: no TLSRPT flavour configured
  std::size_t max_reply_size = 100'000;
  bool dane = false;                // DANE decides where it applies (dane = auto, DNSSEC status known)
  bool dane_without_sts = false;
  std::string dane_mode = "off";    // how DNSSEC status is learned: trust-ad, validate, off
  std::string dane_off_reason;      // why DANE checks are off, when they are
};

int queryExitCode(const QueryReport& report);
std::string formatQueryReport(const QueryReport& report, const QueryFormat& format);

// Runs the lookups on `base` until they finish (each step is bounded by its own timeout);
// the DANE check too when `dane`.
QueryReport runQuery(event_base* base, PolicyResolver& resolver, const std::string& key, bool dane = false);

}  // namespace mtasts::daemon
