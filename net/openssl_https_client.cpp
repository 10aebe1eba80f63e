#include "net/openssl_https_client.hpp"

#include "net/https_exchange.hpp"

#include <openssl/err.h>

#include <fmt/format.h>

#include <utility>

namespace mtasts::net {

Result<std::unique_ptr<OpensslHttpsClient>> OpensslHttpsClient::create(event_base* base,
                                                                       const HttpsClientOptions& options) {
  if (base == nullptr) return fail(ErrorCode::Internal, "no event_base");
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail(ErrorCode::Internal, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // Many servers close without close_notify; OpenSSL 3 reports that as an error that
  // libevent's dirty-shutdown flag does not catch. Body framing is the parser's job.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  int loaded = options.ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(ctx.get())
                   : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    std::string why = opensslReason(ERR_get_error());
    ERR_clear_error();
    return fail(ErrorCode::Io, fmt::format("cannot load trusted CAs from {}: {}",
                                           options.ca_file.empty() ? "default paths" : options.ca_file, why));
  }
  if (options.user_agent.empty() ||
      options.user_agent.find_first_of("\r\n") != std::string::npos) {
    return fail(ErrorCode::InvalidInput, "invalid User-Agent");
  }
  return std::unique_ptr<OpensslHttpsClient>(new OpensslHttpsClient(base, std::move(ctx), options.user_agent));
}

OpensslHttpsClient::~OpensslHttpsClient() {
  while (!live_.empty()) (*live_.begin())->detach();
}

RequestHandle OpensslHttpsClient::send(HttpsRequest request, Callback done) {
  auto exchange = std::make_unique<HttpsExchange>(this, std::move(request), std::move(done));
  exchange->start();
  return exchange;
}

}  // namespace mtasts::net
