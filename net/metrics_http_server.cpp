#include "net/metrics_http_server.hpp"

#include "common/log.hpp"
#include "net/callback_guard.hpp"
#include "net/timeval.hpp"

#include <spdlog/fmt/fmt.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace mtasts::net {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("metrics");
  return logger;
}

// How often held connections are checked for being closed by evhttp or past their deadline.
constexpr auto SweepInterval = std::chrono::milliseconds(100);

constexpr int AllMethods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                           EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                           EVHTTP_REQ_PATCH;

// evhttp owns the listener's callback argument (the evhttp), so the accept error callback
// finds its server here. Loop thread only, like the servers.
std::vector<std::pair<evhttp*, MetricsHttpServer*>>& servers() {
  static std::vector<std::pair<evhttp*, MetricsHttpServer*>> all;
  return all;
}

int toSeconds(std::chrono::milliseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return static_cast<int>(std::clamp<long long>(s, 1, 3600));
}

void reply(evhttp_request* request, int code, const char* reason, std::string_view body,
           std::string_view content_type) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", std::string(content_type).c_str());
  evhttp_add_header(headers, "Connection", "close");
  evhttp_add_header(headers, "Cache-Control", "no-store");
  if (code == HTTP_BADMETHOD) evhttp_add_header(headers, "Allow", "GET, HEAD");
  evbuffer* out = evbuffer_new();
  if (out != nullptr) evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(request, code, reason, out);
  if (out != nullptr) evbuffer_free(out);
}

}  // namespace

Result<UniqueFd> MetricsHttpServer::bindInet(const ListenAddress& address) {
  const std::string name = fmt::format("metrics_listen inet:{}:{}", escapeForLog(address.host), address.port);
  if (address.kind != ListenAddress::Kind::Inet) return fail(ErrorCode::InvalidInput, "metrics_listen takes inet:HOST:PORT");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
    return fail(ErrorCode::InvalidInput, fmt::format("{}: {}", name, ::gai_strerror(rc)));
  UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, found->ai_protocol));
  int err = errno;
  if (fd) {
    const int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd.get(), 64) != 0) {
      err = errno;
      fd.reset();
    }
  }
  ::freeaddrinfo(found);
  if (!fd) return fail(ErrorCode::Io, fmt::format("{}: cannot listen: {}", name, std::strerror(err)));
  return fd;
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::create(event_base* base, UniqueFd listening,
                                                                     const MetricsHttpLimits& limits, Render render,
                                                                     std::string content_type) {
  std::unique_ptr<MetricsHttpServer> self(new MetricsHttpServer());
  self->base_ = base;
  self->limits_ = limits;
  self->render_ = std::move(render);
  self->content_type_ = std::move(content_type);
  const std::string address = localListenAddress(listening.get());
  self->bound_name_ = address.starts_with("inet:") ? address.substr(5) : address;
  self->sweep_timer_.reset(evtimer_new(base, &MetricsHttpServer::sweepTrampoline, self.get()));
  self->http_ = evhttp_new(base);
  if (!self->sweep_timer_ || !self->http_) return fail(ErrorCode::Io, "metrics: cannot create the HTTP server");
  evhttp_set_max_headers_size(self->http_, static_cast<ev_ssize_t>(limits.max_request_head));
  evhttp_set_max_body_size(self->http_, static_cast<ev_ssize_t>(limits.max_request_body));
  evhttp_set_timeout(self->http_, toSeconds(limits.idle_timeout));
  evhttp_set_allowed_methods(self->http_, AllMethods);  // the handler answers 405 itself
  evhttp_set_bevcb(self->http_, &MetricsHttpServer::newConnection, self.get());
  evhttp_set_gencb(self->http_, &MetricsHttpServer::handleRequest, self.get());
  // A socket from systemd is blocking unless its unit says NonBlocking=yes.
  if (evutil_make_socket_nonblocking(listening.get()) != 0)
    return fail(ErrorCode::Io, fmt::format("metrics {}: cannot make the socket non-blocking", self->bound_name_));
  // Backlog 0: the socket already listens (bindInet() or systemd chose the backlog).
  evconnlistener* listener = evconnlistener_new(base, nullptr, nullptr,
                                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listening.get());
  if (!listener) return fail(ErrorCode::Io, fmt::format("metrics {}: cannot serve the socket", self->bound_name_));
  listening.release();  // the evconnlistener closes it
  self->bound_ = evhttp_bind_listener(self->http_, listener);
  if (!self->bound_) {
    evconnlistener_free(listener);
    return fail(ErrorCode::Io, fmt::format("metrics {}: cannot serve the socket", self->bound_name_));
  }
  servers().emplace_back(self->http_, self.get());
  evconnlistener_set_error_cb(listener, &MetricsHttpServer::acceptErrorTrampoline);
  return self;
}

MetricsHttpServer::~MetricsHttpServer() {
  std::erase_if(servers(), [this](const auto& entry) { return entry.second == this; });
  // evhttp frees its connections (and the listener); the references kept here go last.
  if (http_ != nullptr) evhttp_free(http_);
  for (const Held& held : held_) bufferevent_decref(held.bev);
}

void MetricsHttpServer::stopAccepting() {
  if (bound_ == nullptr) return;
  evhttp_del_accept_socket(http_, bound_);
  bound_ = nullptr;
}

bufferevent* MetricsHttpServer::newConnection(event_base* base, void* arg) noexcept {
  auto* self = static_cast<MetricsHttpServer*>(arg);
  bufferevent* bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) return nullptr;  // evhttp makes one of its own (uncounted)
  const bool kept = callGuarded("metrics", "new connection", [&] {
    self->held_.push_back(Held{bev, std::chrono::steady_clock::now() + self->limits_.connection_deadline});
  });
  if (!kept) return bev;
  bufferevent_incref(bev);
  self->armSweep();
  self->updateAccepting();
  return bev;
}

void MetricsHttpServer::handleRequest(evhttp_request* request, void* arg) noexcept {
  auto* self = static_cast<MetricsHttpServer*>(arg);
  if (!callGuarded("metrics", "request", [&] { self->respond(request); })) {
    reply(request, HTTP_INTERNAL, "Internal Server Error", "internal error\n", "text/plain; charset=utf-8");
  }
}

void MetricsHttpServer::respond(evhttp_request* request) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  const auto method = evhttp_request_get_command(request);
  if (path == nullptr || std::string_view(path) != "/metrics") {
    reply(request, HTTP_NOTFOUND, "Not Found", "not found: the metrics are at /metrics\n", "text/plain; charset=utf-8");
    return;
  }
  if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
    reply(request, HTTP_BADMETHOD, "Method Not Allowed", "method not allowed\n", "text/plain; charset=utf-8");
    return;
  }
  // libevent 2.1's server sends a HEAD reply's body: leave it out here (Content-Length: 0).
  reply(request, HTTP_OK, "OK", method == EVHTTP_REQ_HEAD ? std::string() : render_(), content_type_);
}

void MetricsHttpServer::sweepTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<MetricsHttpServer*>(arg);
  (void)callGuarded("metrics", "sweep", [&] { self->sweep(); });
}

void MetricsHttpServer::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::size_t kept = 0;
  for (Held& held : held_) {
    bufferevent_event_cb event_cb = nullptr;
    bufferevent_getcb(held.bev, nullptr, nullptr, &event_cb, nullptr);
    if (event_cb == nullptr) {  // evhttp freed the connection: ours was the last reference
      bufferevent_decref(held.bev);
      continue;
    }
    if (now >= held.deadline) {
      // A peer that trickles bytes keeps evhttp's inactivity timeout from firing. Shutting
      // the socket down makes evhttp read end-of-file and free the connection.
      const evutil_socket_t fd = bufferevent_getfd(held.bev);
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
      held.deadline = now + limits_.idle_timeout;  // once more, should evhttp not notice
    }
    held_[kept++] = held;
  }
  held_.resize(kept);
  exhausted_ = false;
  updateAccepting();
  armSweep();
}

void MetricsHttpServer::armSweep() {
  if ((held_.empty() && !exhausted_) || evtimer_pending(sweep_timer_.get(), nullptr)) return;
  const timeval every = toTimeval(SweepInterval);
  evtimer_add(sweep_timer_.get(), &every);
}

void MetricsHttpServer::updateAccepting() {
  if (bound_ == nullptr) return;
  evconnlistener* listener = evhttp_bound_socket_get_listener(bound_);
  const bool pause = held_.size() >= limits_.max_connections || exhausted_;
  if (pause == paused_) return;
  paused_ = pause;
  if (pause) {
    evconnlistener_disable(listener);
  } else {
    evconnlistener_enable(listener);
  }
}

// Out of descriptors: the pending connection stays queued and the socket stays readable;
// pause until the next sweep instead of spinning.
void MetricsHttpServer::acceptErrorTrampoline(evconnlistener*, void* arg) noexcept {
  const int err = EVUTIL_SOCKET_ERROR();
  (void)callGuarded("metrics", "accept", [&] {
    auto& all = servers();
    auto it = std::find_if(all.begin(), all.end(), [arg](const auto& entry) { return entry.first == arg; });
    if (it == all.end()) return;
    MetricsHttpServer* self = it->second;
    log()->warn("accept failed on the metrics listener error={}", std::strerror(err));
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      self->exhausted_ = true;
      self->updateAccepting();
      self->armSweep();
    }
  });
}

}  // namespace mtasts::net
