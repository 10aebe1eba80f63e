// The MTA-STS policy fetch rules (RFC 8461 3.3, RFC 8460 4.3.2) on top of net::HttpsClient:
// GET https://mta-sts.<domain>/.well-known/mta-sts.txt, status 200 only (a redirect is never
// followed), media type text/plain, body at most max_policy_size (capped at the parser's
// 64 KiB), the whole fetch bounded in time. What comes back is a policy document (the body,
// not yet parsed) or a failure classified as the RFC 8460 result type it is reported as:
// sts-webpki-invalid for the certificate (chain, name, expiry), sts-policy-fetch-error for
// everything else that is no policy document. Never sts-policy-invalid: only the policy
// parser judges a body. Loop thread; callbacks follow common/pending.hpp.
#pragma once

#include "common/pending.hpp"
#include "common/tlsrpt_result_type.hpp"
#include "net/https_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::policy {

inline constexpr std::string_view PolicyPath = "/.well-known/mta-sts.txt";

struct PolicyFetchRules {
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_policy_size = 64 * 1024;  // capped at sts::MaxPolicyBodyBytes
  std::uint16_t port = 443;
};

struct PolicyDocument {
  bool ok = false;
  std::string body;  // when ok: the policy text as received
  TlsRptResultType failure = TlsRptResultType::StsPolicyFetchError;  // when !ok
  std::string detail;  // e.g. "HTTP status 404", "certificate has expired (192.0.2.1)"
  int http_status = 0;
};

// The request for `policy_host` ("mta-sts.example.com") at the given addresses.
net::HttpsRequest policyRequest(const std::string& policy_host, std::vector<std::string> addresses,
                                const PolicyFetchRules& rules);

// Pure: the MTA-STS reading of what the client returned.
PolicyDocument classifyPolicyResponse(net::HttpsResult result);

// Sends policyRequest(...) through `client` and classifies the result.
RequestHandle fetchPolicyDocument(net::HttpsClient& client, const std::string& policy_host,
                                  std::vector<std::string> addresses, const PolicyFetchRules& rules,
                                  std::function<void(PolicyDocument)> done);

}  // namespace mtasts::policy
