#include "policy/policy_fetch.hpp"

#include "common/log.hpp"
#include "net/http_response_parser.hpp"
#include "sts/policy_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace mtasts::policy {
namespace {

// What stops a response from being a policy document once its head is in; empty if it is
// one (so far).
std::string headProblem(const net::HttpsResponse& head) {
  if (head.status != 200) {
    return head.status >= 300 && head.status < 400 ? fmt::format("redirect not followed ({})", head.status)
                                                   : fmt::format("HTTP status {}", head.status);
  }
  auto type = head.header("content-type");
  if (!type) return "no Content-Type";
  // Not a policy document at all (RFC 8460 4.3.2): a fetch error, not an invalid policy.
  if (!net::isTextPlainMediaType(*type)) return fmt::format("media type is not text/plain: {}", escapeForLog(*type, 80));
  return {};
}

}  // namespace

net::HttpsRequest policyRequest(const std::string& policy_host, std::vector<std::string> addresses,
                                const PolicyFetchRules& rules) {
  net::HttpsRequest request;
  request.method = net::HttpMethod::Get;
  request.host = policy_host;
  request.path = std::string(PolicyPath);
  request.addresses = std::move(addresses);
  request.port = rules.port;
  request.headers = {{"Accept", "text/plain"}};
  request.timeout = rules.timeout;
  // The size limit is enforced here, while downloading, and nowhere else: never above the
  // parser's own bound (the config refuses larger values already).
  request.max_body = std::min(rules.max_policy_size, sts::MaxPolicyBodyBytes);
  // A response that is no policy document is judged by its head: its body is not read.
  request.read_body = [](const net::HttpsResponse& head) { return headProblem(head).empty(); };
  return request;
}

PolicyDocument classifyPolicyResponse(net::HttpsResult result) {
  PolicyDocument doc;
  if (!result.ok()) {
    doc.failure = result.error->kind == net::HttpsErrorKind::TlsCertificate ? TlsRptResultType::StsWebpkiInvalid
                                                                            : TlsRptResultType::StsPolicyFetchError;
    doc.detail = std::move(result.error->detail);
    return doc;
  }
  doc.http_status = result.response.status;
  if (std::string problem = headProblem(result.response); !problem.empty()) {
    doc.failure = TlsRptResultType::StsPolicyFetchError;
    doc.detail = std::move(problem);
    return doc;
  }
  doc.ok = true;
  doc.body = std::move(result.response.body);
  return doc;
}

RequestHandle fetchPolicyDocument(net::HttpsClient& client, const std::string& policy_host,
                                  std::vector<std::string> addresses, const PolicyFetchRules& rules,
                                  std::function<void(PolicyDocument)> done) {
  return client.send(policyRequest(policy_host, std::move(addresses), rules),
                     [done = std::move(done)](net::HttpsResult result) { done(classifyPolicyResponse(std::move(result))); });
}

}  // namespace mtasts::policy
