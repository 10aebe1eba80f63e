// HttpsExchange: one request of OpensslHttpsClient (internal to net/; only the client and its
// tests include this). Tries the request's numeric addresses in order, one TCP connect + TLS
// handshake (bufferevent_openssl) + HTTP/1.1 request at a time, within one deadline; the
// first HTTP response ends it, whatever its status. Owned by the caller's RequestHandle and
// registered with the client, whose destruction detaches it. Runs on the client's loop; the
// result goes to the callback once, per common/pending.hpp. The callback may destroy the
// exchange: every path that can reach it returns at once without touching *this.
#pragma once

#include "common/pending.hpp"
#include "net/c_handles.hpp"
#include "net/http_response_parser.hpp"
#include "net/openssl_https_client.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace mtasts::net {

// The reason text of an OpenSSL error code (shared with the client's setup).
std::string opensslReason(unsigned long err);

class HttpsExchange final : public PendingOperation {
 public:
  HttpsExchange(OpensslHttpsClient* client, HttpsRequest request, HttpsClient::Callback done);
  ~HttpsExchange() override { detach(); }
  HttpsExchange(const HttpsExchange&) = delete;
  HttpsExchange& operator=(const HttpsExchange&) = delete;

  void cancel() noexcept override { detach(); }
  // Drops the connection, the timers and the callback, and leaves the client's live set.
  void detach() noexcept;
  void start() noexcept;

  // Test hooks (tests/net/https_client_test.cpp): the TLS connection once the request is
  // sent, and the libevent event callback, so that a test can deliver events in an order
  // libevent 2.1 does not produce today (EOF while the whole response is still buffered).
  bufferevent* connection() const noexcept { return tls_up_ ? bev_ : nullptr; }
  static void onEvent(bufferevent*, short what, void* arg) noexcept;

 private:
  using SteadyClock = std::chrono::steady_clock;

  static HttpsResult failure(HttpsErrorKind kind, std::string detail);
  void closeConnection() noexcept;
  void attemptFailed(HttpsErrorKind kind, std::string detail) noexcept;
  void nextAttempt() noexcept;
  std::optional<HttpsError> connect() noexcept;
  static void onConnected(evutil_socket_t fd, short, void* arg) noexcept;
  std::string startTls() noexcept;
  void sendRequest();
  void handleEvent(short what);
  static void onRead(bufferevent*, void* arg) noexcept;
  bool drainInput();
  bool handleParser(HttpResponseParser::State state);
  static void onTimer(evutil_socket_t, short, void* arg) noexcept;
  void finish(HttpsResult result) noexcept;
  static void onDeliver(evutil_socket_t, short, void* arg) noexcept;
  void deliver() noexcept;

  OpensslHttpsClient* client_;
  HttpsRequest request_;
  HttpsClient::Callback done_;
  SteadyClock::time_point deadline_{};
  std::size_t next_ = 0;
  std::string address_;
  UniqueFd connecting_;  // the socket while the TCP connect is in progress
  EventPtr connect_ev_;
  bufferevent* bev_ = nullptr;
  SSL* ssl_ = nullptr;  // owned by bev_
  bool tls_up_ = false;
  bool starting_ = false;
  std::optional<HttpResponseParser> parser_;
  std::optional<HttpsError> best_;
  HttpsResult result_;
  EventPtr timer_;
  EventPtr deliver_ev_;
};

}  // namespace mtasts::net
