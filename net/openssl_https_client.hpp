// OpensslHttpsClient: HttpsClient on the daemon's libevent loop. Connects to each given
// numeric address in turn (no DNS here) with bufferevent_openssl (TLS >= 1.2, SNI, PKIX
// chain + DNS-ID check via SSL_set1_host, never the subject CN) and speaks a minimal
// bounded HTTP/1.1 (net/http_response_parser.hpp). Owns one SSL_CTX; borrows the
// event_base, which must outlive the client and every handle. Each exchange is an
// HttpsExchange (net/https_exchange.hpp). Callbacks follow common/pending.hpp; destroying
// the client cancels every exchange. (It used to be called EvhttpHttpsFetcher; it never
// used evhttp.)
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/https_client.hpp"

#include <memory>
#include <string>
#include <unordered_set>

#ifndef MTASTS_VERSION
#define MTASTS_VERSION "unknown"
#endif

namespace mtasts::net {

struct HttpsClientOptions {
  std::string ca_file;  // PEM bundle of trusted roots; empty = OpenSSL's default paths
  std::string user_agent = "mtastsd/" MTASTS_VERSION;  // sent with every request
};

class HttpsExchange;

class OpensslHttpsClient final : public HttpsClient {
 public:
  static Result<std::unique_ptr<OpensslHttpsClient>> create(event_base* base,
                                                            const HttpsClientOptions& options);
  ~OpensslHttpsClient() override;
  OpensslHttpsClient(const OpensslHttpsClient&) = delete;
  OpensslHttpsClient& operator=(const OpensslHttpsClient&) = delete;

  RequestHandle send(HttpsRequest request, Callback done) override;

 private:
  friend class HttpsExchange;
  OpensslHttpsClient(event_base* base, SslCtxPtr ctx, std::string user_agent)
      : base_(base), ctx_(std::move(ctx)), user_agent_(std::move(user_agent)) {}

  event_base* base_;
  SslCtxPtr ctx_;
  std::string user_agent_;
  std::unordered_set<HttpsExchange*> live_;  // outstanding exchanges, cancelled on destruction
};

}  // namespace mtasts::net
