// MetricsHttpServer: the Prometheus scrape endpoint, plain HTTP on the daemon's event loop
// through libevent's evhttp. GET or HEAD /metrics answers 200 with the body `render` makes
// at that moment; another path is 404, another method 405; evhttp itself answers 400 to
// what is not HTTP or exceeds the size limits. Each connection serves one
// request ("Connection: close"). Bounds: the request head and body sizes, an inactivity
// timeout, a deadline on each whole connection, and at most max_connections at once (at the
// limit the listener pauses: new connections wait in the kernel's backlog). Owns the evhttp,
// the listening socket and the connections. Loop thread only. Errors: Result (Io).
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/listener.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct bufferevent;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

namespace mtasts::net {

struct MetricsHttpLimits {
  std::size_t max_connections = 16;
  std::size_t max_request_head = 8 * 1024;  // request line and headers
  std::size_t max_request_body = 1024;
  std::chrono::milliseconds idle_timeout{10'000};         // no byte read or written
  std::chrono::milliseconds connection_deadline{30'000};  // a whole connection, however active
};

class MetricsHttpServer {
 public:
  // The response body, rendered per request (on the loop thread).
  using Render = std::function<std::string()>;

  // Serves on `listening`, a bound, listening TCP socket (bindInet(), or one from systemd).
  static Result<std::unique_ptr<MetricsHttpServer>> create(event_base* base, UniqueFd listening,
                                                           const MetricsHttpLimits& limits, Render render,
                                                           std::string content_type);
  // socket + SO_REUSEADDR + bind + listen, non-blocking and close-on-exec: an inet address
  // only (a scraper connects over TCP). Blocking (getaddrinfo): startup only.
  static Result<UniqueFd> bindInet(const ListenAddress& address);

  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // "127.0.0.1:9461".
  const std::string& boundName() const { return bound_name_; }
  std::size_t openConnections() const { return held_.size(); }
  // Closes the listener; connections in progress finish (or go with the server).
  void stopAccepting();

 private:
  // One connection's bufferevent, created by us for evhttp and kept referenced: evhttp
  // 2.1 reports neither a new nor a closed connection, so the reference is how the server
  // counts them. evhttp's bufferevent_free() clears the callbacks; the sweep sees that and
  // drops the last reference, which closes the socket.
  struct Held {
    bufferevent* bev = nullptr;
    std::chrono::steady_clock::time_point deadline;
  };

  MetricsHttpServer() = default;
  static bufferevent* newConnection(event_base* base, void* arg) noexcept;
  static void handleRequest(evhttp_request* request, void* arg) noexcept;
  static void sweepTrampoline(int, short, void* arg) noexcept;
  static void acceptErrorTrampoline(struct evconnlistener* listener, void* arg) noexcept;
  void respond(evhttp_request* request);
  void sweep();
  void armSweep();
  void updateAccepting();

  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  evhttp_bound_socket* bound_ = nullptr;
  EventPtr sweep_timer_;
  MetricsHttpLimits limits_;
  Render render_;
  std::string content_type_;
  std::string bound_name_;
  std::vector<Held> held_;
  bool paused_ = false;      // at max_connections
  bool exhausted_ = false;   // accept() ran out of descriptors: retried by the sweep
};

}  // namespace mtasts::net
