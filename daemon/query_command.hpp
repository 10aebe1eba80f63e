// `mtastsd --query DOMAIN [--json]`: one live discovery and fetch with the configured DNS
// and CA, no cache, printed for a human (or as JSON) with the verdict each map flavour
// would get. Exit status: 0 policy found, 1 no policy, 2 failure (DNS, fetch, invalid).
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
};

struct QueryFormat {
  bool json = false;
  bool strict_testing = false;
  std::string plain_map = "postfix";
  std::string tlsrpt_map;  // empty: no TLSRPT flavour configured
  std::size_t max_reply_size = 100'000;
};

int queryExitCode(const QueryReport& report);
std::string formatQueryReport(const QueryReport& report, const QueryFormat& format);

// Runs the lookups on `base` until they finish (each step is bounded by its own timeout).
QueryReport runQuery(event_base* base, PolicyResolver& resolver, const std::string& key);

}  // namespace mtasts::daemon
