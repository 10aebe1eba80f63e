// EvhttpHttpsFetcher: HttpsFetcher on the daemon's libevent loop. Connects to each given
// numeric address in turn (no DNS here) with bufferevent_openssl (TLS >= 1.2, SNI, PKIX
// chain + DNS-ID check via SSL_set1_host) and speaks a minimal bounded HTTP/1.1 GET
// (net/http_response_parser.hpp). Owns one SSL_CTX; borrows the event_base, which must
// outlive the fetcher and every handle. Each fetch is a FetchOperation (net/fetch_operation.hpp).
// Failures carry their RFC 8460 result type; callbacks follow common/pending.hpp;
// destroying the fetcher cancels every fetch.
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/https_fetcher.hpp"

#include <memory>
#include <string>
#include <unordered_set>

#ifndef MTASTS_VERSION
#define MTASTS_VERSION "unknown"
#endif

namespace mtasts::net {

struct FetcherOptions {
  std::string ca_file;  // PEM bundle of trusted roots; empty = OpenSSL's default paths
  std::string user_agent = "mtastsd/" MTASTS_VERSION;
};

class FetchOperation;

class EvhttpHttpsFetcher final : public HttpsFetcher {
 public:
  static Result<std::unique_ptr<EvhttpHttpsFetcher>> create(event_base* base,
                                                            const FetcherOptions& options);
  ~EvhttpHttpsFetcher() override;
  EvhttpHttpsFetcher(const EvhttpHttpsFetcher&) = delete;
  EvhttpHttpsFetcher& operator=(const EvhttpHttpsFetcher&) = delete;

  RequestHandle fetch(FetchRequest request, Callback done) override;

 private:
  friend class FetchOperation;
  EvhttpHttpsFetcher(event_base* base, SslCtxPtr ctx, std::string user_agent)
      : base_(base), ctx_(std::move(ctx)), user_agent_(std::move(user_agent)) {}

  event_base* base_;
  SslCtxPtr ctx_;
  std::string user_agent_;
  std::unordered_set<FetchOperation*> live_;  // outstanding fetches, cancelled on destruction
};

}  // namespace mtasts::net
