// HttpsClient: one bounded HTTPS exchange (GET or POST) on the event loop. The real client
// (openssl_https_client.hpp) speaks HTTP/1.1 over bufferevent_openssl with PKIX and DNS-ID
// checks; tests use a fake. No redirect is ever followed: a 3xx is a response like any other.
// The result is either a response (status, headers with lower-cased names, a bounded body)
// or an error with a class and a detail; a body over max_body is an error (TooLarge), never
// silently cut. What a status or a media type means is the caller's business (the MTA-STS
// rules live in policy/policy_fetch.hpp). Callbacks follow common/pending.hpp.
#pragma once

#include "common/pending.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

enum class HttpMethod { Get, Post };

struct HttpsResponse {
  int status = 0;
  HttpHeaders headers;  // in arrival order, names lower-cased, values trimmed
  std::string body;
  // True when the request's read_body hook said no: the exchange ended after the headers.
  bool body_skipped = false;

  // First value of a header; `name` in lower case.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpsRequest {
  HttpMethod method = HttpMethod::Get;
  std::string host;                    // SNI, Host header and the certificate's DNS-ID
  std::string path = "/";
  std::vector<std::string> addresses;  // numeric addresses, tried in order
  std::uint16_t port = 443;
  // Sent after Host and User-Agent; names are tokens, values printable (else a Request
  // error). Host, Content-Length and Connection are the client's and may not be given.
  HttpHeaders headers;
  std::string body;                           // POST only, sent with its Content-Length
  std::chrono::milliseconds timeout{10'000};  // the whole exchange, all addresses
  std::size_t max_body = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  // Asked once the final response's headers are in (body still empty): false ends the
  // exchange there (body_skipped). For callers that judge a response by its head alone,
  // so a 404 or the wrong media type need not be downloaded.
  std::function<bool(const HttpsResponse& head)> read_body;
};

enum class HttpsErrorKind {
  Request,         // the request itself is unusable (bad host, path or header, no address)
  Connect,         // TCP connect failed, or the connection broke off before TLS
  Timeout,         // the exchange did not finish within the request's timeout
  TlsCertificate,  // chain, name or expiry of the server certificate (the webpki class)
  TlsOther,        // any other TLS handshake failure
  Protocol,        // not a well-formed HTTP/1.x response, or the connection broke off in it
  TooLarge,        // headers or body over their bound
};
std::string_view httpsErrorKindName(HttpsErrorKind kind) noexcept;

struct HttpsError {
  HttpsErrorKind kind = HttpsErrorKind::Connect;
  std::string detail;  // e.g. "certificate has expired (127.0.0.1)", "timeout after 10000 ms"
};

struct HttpsResult {
  std::optional<HttpsError> error;  // set: no response (with several addresses, the most
                                    // telling failure: a certificate one wins)
  HttpsResponse response;           // when !error

  bool ok() const { return !error.has_value(); }
};

class HttpsClient {
 public:
  using Callback = std::function<void(HttpsResult)>;
  virtual ~HttpsClient() = default;
  virtual RequestHandle send(HttpsRequest request, Callback done) = 0;
};

}  // namespace mtasts::net
