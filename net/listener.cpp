#include "net/listener.hpp"

#include "common/log.hpp"
#include "net/callback_guard.hpp"
#include "net/timeval.hpp"

#include <spdlog/fmt/fmt.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>

namespace mtasts::net {
namespace {

constexpr unsigned ListenFlags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
constexpr auto AcceptPause = std::chrono::milliseconds(100);
constexpr std::int64_t AcceptErrorLogIntervalMs = 10'000;

std::int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// fs.nr_open caps RLIMIT_NOFILE even for root.
rlim_t systemFileMax() {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long value = 0;
  if (in >> value && value > 0) return static_cast<rlim_t>(value);
  return 1024 * 1024;
}

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

Result<ListenAddress> parseListenAddress(std::string_view spec) {
  ListenAddress out;
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::InvalidInput, fmt::format("listen entry \"{}\": {}", escapeForLog(spec, 80), why));
  };
  if (spec.starts_with("unix:")) {
    out.kind = ListenAddress::Kind::Unix;
    out.path = std::string(spec.substr(5));
    if (out.path.empty() || out.path.front() != '/') return bad("needs an absolute path");
    if (out.path.size() >= sizeof(sockaddr_un{}.sun_path)) return bad("path too long for a unix socket");
    if (out.path.find('\0') != std::string::npos) return bad("path contains a NUL byte");
    return out;
  }
  if (!spec.starts_with("inet:")) return bad("must start with inet: or unix:");
  std::string_view rest = spec.substr(5);
  std::string_view port_text;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("expected inet:[address]:port");
    out.host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("expected inet:host:port");
    out.host = std::string(rest.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("put an IPv6 address in brackets");
    port_text = rest.substr(colon + 1);
  }
  if (out.host.empty()) return bad("missing host");
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535)
    return bad("port must be a number from 0 to 65535");
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::string sockaddrToString(const sockaddr* sa, int len) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa && sa->sa_family == AF_INET && len >= static_cast<int>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in->sin_port));
  }
  if (sa && sa->sa_family == AF_INET6 && len >= static_cast<int>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
  }
  return "unix";
}

Result<std::unique_ptr<Listener>> Listener::open(event_base* base, const ListenAddress& address,
                                                 const SocketFilePermissions& unix_options,
                                                 AcceptFn on_accept) {
  std::unique_ptr<Listener> self(new Listener());
  self->on_accept_ = std::move(on_accept);
  if (address.kind == ListenAddress::Kind::Unix) {
    if (auto removed = removeStaleSocketFile(address.path, SOCK_STREAM); !removed)
      return Unexpected{std::move(removed).error()};
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, address.path.data(), address.path.size());
    self->listener_ = evconnlistener_new_bind(base, &Listener::acceptTrampoline, self.get(), ListenFlags, -1,
                                              reinterpret_cast<sockaddr*>(&sun), sizeof sun);
    if (!self->listener_)
      return fail(ErrorCode::Io, fmt::format("unix:{}: cannot listen: {}", address.path, errnoText(errno)));
    evconnlistener_set_error_cb(self->listener_, &Listener::errorTrampoline);
    self->unix_path_ = address.path;
    self->bound_name_ = "unix:" + address.path;
    if (auto applied = applySocketFilePermissions(address.path, unix_options, "unix_socket"); !applied)
      return Unexpected{std::move(applied).error()};
    return self;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
    return fail(ErrorCode::InvalidInput, fmt::format("inet:{}: {}", escapeForLog(address.host), ::gai_strerror(rc)));
  self->listener_ = evconnlistener_new_bind(base, &Listener::acceptTrampoline, self.get(), ListenFlags, -1,
                                            found->ai_addr, static_cast<int>(found->ai_addrlen));
  const int err = errno;
  ::freeaddrinfo(found);
  if (!self->listener_)
    return fail(ErrorCode::Io, fmt::format("inet:{}:{}: cannot listen: {}", escapeForLog(address.host), address.port, errnoText(err)));
  evconnlistener_set_error_cb(self->listener_, &Listener::errorTrampoline);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(evconnlistener_get_fd(self->listener_), reinterpret_cast<sockaddr*>(&bound), &len);
  self->bound_name_ = sockaddrToString(reinterpret_cast<sockaddr*>(&bound), static_cast<int>(len));
  self->bound_port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                 : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return self;
}

std::string localListenAddress(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return {};
  if (bound.ss_family == AF_INET || bound.ss_family == AF_INET6)
    return "inet:" + sockaddrToString(reinterpret_cast<sockaddr*>(&bound), static_cast<int>(len));
  if (bound.ss_family != AF_UNIX) return {};
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&bound);
  const std::size_t offset = offsetof(sockaddr_un, sun_path);
  if (len <= offset || sun->sun_path[0] == '\0') return "unix:";  // unnamed or abstract
  const std::size_t max = std::min<std::size_t>(len - offset, sizeof sun->sun_path);
  return "unix:" + std::string(sun->sun_path, ::strnlen(sun->sun_path, max));
}

Result<std::unique_ptr<Listener>> Listener::adopt(event_base* base, UniqueFd fd, AcceptFn on_accept) {
  std::unique_ptr<Listener> self(new Listener());
  self->on_accept_ = std::move(on_accept);
  const std::string name = localListenAddress(fd.get());
  // systemd passes blocking sockets (unless NonBlocking=yes); a blocking accept() would stall
  // the loop when a client goes away between readiness and accept.
  if (evutil_make_socket_nonblocking(fd.get()) != 0)
    return fail(ErrorCode::Io, fmt::format("{}: cannot make the socket non-blocking: {}", name, errnoText(errno)));
  // Backlog 0: libevent does not call listen() again (the owner chose the backlog).
  self->listener_ = evconnlistener_new(base, &Listener::acceptTrampoline, self.get(),
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd.get());
  if (!self->listener_) return fail(ErrorCode::Io, fmt::format("{}: cannot serve the socket: {}", name, errnoText(errno)));
  fd.release();  // the evconnlistener closes it
  evconnlistener_set_error_cb(self->listener_, &Listener::errorTrampoline);
  // The same names open() reports: "127.0.0.1:8461" for inet, "unix:/path" for unix.
  self->bound_name_ = name.starts_with("inet:") ? name.substr(5) : name;
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(evconnlistener_get_fd(self->listener_), reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    if (bound.ss_family == AF_INET6) self->bound_port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    if (bound.ss_family == AF_INET) self->bound_port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return self;
}

Result<std::size_t> raiseFileLimit(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return fail(ErrorCode::Io, fmt::format("getrlimit(RLIMIT_NOFILE): {}", errnoText(errno)));
  const auto target = static_cast<rlim_t>(wanted);
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= target) return static_cast<std::size_t>(limit.rlim_cur);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < target) {
    // Only a privileged process may raise the hard limit; a refusal is not an error.
    const rlimit both{std::min(target, systemFileMax()), std::min(target, systemFileMax())};
    if (both.rlim_max > limit.rlim_max && ::setrlimit(RLIMIT_NOFILE, &both) == 0) return static_cast<std::size_t>(both.rlim_cur);
  }
  const rlimit raised{limit.rlim_max == RLIM_INFINITY ? target : std::min(target, limit.rlim_max), limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) return static_cast<std::size_t>(limit.rlim_cur);
  return static_cast<std::size_t>(raised.rlim_cur);
}

Listener::~Listener() {
  if (resume_timer_) event_free(resume_timer_);
  if (listener_) evconnlistener_free(listener_);
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void Listener::acceptTrampoline(evconnlistener*, int fd, sockaddr* sa, int len, void* arg) noexcept {
  auto* self = static_cast<Listener*>(arg);
  if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
    // Every reply completes a request: send it now. With Nagle a reply written while an
    // earlier one is unacknowledged waits for the client's delayed ACK (up to 40 ms).
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // Owned from here on: whoever holds the UniqueFd when an exception unwinds closes it,
  // once (the callee, if it took it; this frame otherwise).
  UniqueFd owned(fd);
  if (!self->on_accept_) return;  // nobody takes connections yet: closed
  (void)callGuarded("server", "accept", [&] { self->on_accept_(std::move(owned), sockaddrToString(sa, len)); });
}

void Listener::errorTrampoline(evconnlistener* listener, void* arg) noexcept {
  auto* self = static_cast<Listener*>(arg);
  const int err = EVUTIL_SOCKET_ERROR();
  // Out of descriptors (or kernel memory): the pending connection stays queued and the
  // socket stays readable, so retrying at once would spin. Pause, then try again.
  const bool exhausted = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
  ++self->errors_since_log_;
  const std::int64_t now = steadyMs();
  if (self->last_error_log_ms_ < 0 || now - self->last_error_log_ms_ >= AcceptErrorLogIntervalMs) {
    moduleLogger("server")->warn("accept failed, {} address={} error={} errors={}",
                                 exhausted ? "pausing 100 ms" : "continuing", self->bound_name_, errnoText(err),
                                 self->errors_since_log_);
    self->last_error_log_ms_ = now;
    self->errors_since_log_ = 0;
  }
  if (!exhausted) return;
  if (!self->resume_timer_)
    self->resume_timer_ = evtimer_new(evconnlistener_get_base(listener), &Listener::resumeTrampoline, self);
  if (!self->resume_timer_) return;
  evconnlistener_disable(listener);
  const timeval pause = toTimeval(AcceptPause);
  evtimer_add(self->resume_timer_, &pause);
}

void Listener::resumeTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<Listener*>(arg);
  if (self->listener_) evconnlistener_enable(self->listener_);
}

}  // namespace mtasts::net
