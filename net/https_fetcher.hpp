// HttpsFetcher: one bounded HTTPS GET of an MTA-STS policy file, on the event loop.
// The real implementation (evhttp_https_fetcher.hpp) uses libevent's evhttp over
// bufferevent_openssl; tests use a fake. Callbacks follow common/pending.hpp.
// Every failure is classified with the RFC 8460 result type it will be reported as.
#pragma once

#include "common/pending.hpp"
#include "common/tlsrpt_result_type.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mtasts::net {

struct FetchRequest {
  std::string host;                    // "mta-sts.example.com": SNI, Host, certificate name
  std::string path = "/.well-known/mta-sts.txt";
  std::vector<std::string> addresses;  // numeric addresses from the DnsClient, tried in order
  std::uint16_t port = 443;
  std::chrono::milliseconds timeout{10'000};  // bounds the whole fetch, all addresses
  std::size_t max_body = 64 * 1024;
};

struct FetchResult {
  bool ok = false;
  std::string body;       // when ok: the policy text as received
  // When !ok: StsWebpkiInvalid (certificate chain or name), otherwise StsPolicyFetchError
  // (connect, timeout, HTTP status, redirect, media type, size): what came back, if
  // anything, was not a policy document (RFC 8460 4.3.2). Never StsPolicyInvalid: only
  // the policy parser judges a body.
  TlsRptResultType failure = TlsRptResultType::StsPolicyFetchError;
  std::string detail;     // e.g. "status 404", "certificate has expired", "timeout"
  int http_status = 0;
};

class HttpsFetcher {
 public:
  using Callback = std::function<void(FetchResult)>;
  virtual ~HttpsFetcher() = default;
  virtual RequestHandle fetch(FetchRequest request, Callback done) = 0;
};

}  // namespace mtasts::net
