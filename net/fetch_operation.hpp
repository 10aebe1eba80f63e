// FetchOperation: one HTTPS policy fetch of EvhttpHttpsFetcher (internal to net/; only the
// fetcher and its tests include this). Tries the request's numeric addresses in order, one
// TCP connect + TLS handshake (bufferevent_openssl) + HTTP/1.1 GET at a time, within one
// deadline. Owned by the caller's RequestHandle and registered with the fetcher, whose
// destruction detaches it. Runs on the fetcher's loop; the result (with its RFC 8460
// type) goes to the callback once, per common/pending.hpp. The callback may destroy the
// operation: every path that can reach it returns at once without touching *this.
#pragma once

#include "common/pending.hpp"
#include "net/c_handles.hpp"
#include "net/evhttp_https_fetcher.hpp"
#include "net/http_response_parser.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace mtasts::net {

// The reason text of an OpenSSL error code (shared with the fetcher's setup).
std::string opensslReason(unsigned long err);

class FetchOperation final : public PendingOperation {
 public:
  FetchOperation(EvhttpHttpsFetcher* fetcher, FetchRequest request, HttpsFetcher::Callback done);
  ~FetchOperation() override { detach(); }
  FetchOperation(const FetchOperation&) = delete;
  FetchOperation& operator=(const FetchOperation&) = delete;

  void cancel() noexcept override { detach(); }
  // Drops the connection, the timers and the callback, and leaves the fetcher's live set.
  void detach() noexcept;
  void start() noexcept;

  // Test hooks (tests/net/https_fetcher_test.cpp): the TLS connection once the request is
  // sent, and the libevent event callback, so that a test can deliver events in an order
  // libevent 2.1 does not produce today (EOF while the whole response is still buffered).
  bufferevent* connection() const noexcept { return tls_up_ ? bev_ : nullptr; }
  static void onEvent(bufferevent*, short what, void* arg) noexcept;

 private:
  using SteadyClock = std::chrono::steady_clock;

  static FetchResult failure(TlsRptResultType type, std::string detail, int status = 0);
  void closeConnection() noexcept;
  void attemptFailed(TlsRptResultType type, std::string detail) noexcept;
  void nextAttempt() noexcept;
  std::string connect() noexcept;
  static void onConnected(evutil_socket_t fd, short, void* arg) noexcept;
  std::string startTls() noexcept;
  void sendRequest();
  void handleEvent(short what);
  static void onRead(bufferevent*, void* arg) noexcept;
  bool drainInput();
  bool handleParser(HttpResponseParser::State state);
  static void onTimer(evutil_socket_t, short, void* arg) noexcept;
  void finish(FetchResult result) noexcept;
  static void onDeliver(evutil_socket_t, short, void* arg) noexcept;
  void deliver() noexcept;

  EvhttpHttpsFetcher* fetcher_;
  FetchRequest request_;
  HttpsFetcher::Callback done_;
  SteadyClock::time_point deadline_{};
  std::size_t next_ = 0;
  std::string address_;
  evutil_socket_t fd_ = -1;  // while the TCP connect is in progress
  EventPtr connect_ev_;
  bufferevent* bev_ = nullptr;
  SSL* ssl_ = nullptr;  // owned by bev_
  bool tls_up_ = false;
  bool starting_ = false;
  std::optional<HttpResponseParser> parser_;
  std::optional<FetchResult> best_;
  FetchResult result_;
  EventPtr timer_;
  EventPtr deliver_ev_;
};

}  // namespace mtasts::net
