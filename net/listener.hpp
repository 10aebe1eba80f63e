// Stream listen addresses ("inet:HOST:PORT", "inet:[v6]:PORT", "unix:/path") and the
// RAII Listener that owns one evconnlistener on the daemon's event_base. Parsing is pure;
// open() binds (startup only, may block in getaddrinfo for a host name) and reports errors
// as Result. A unix listener removes a stale socket file first, applies its mode and owner
// (net/unix_socket_file.hpp) and unlinks it when freed. Each accepted socket is handed over as a
// UniqueFd: from then on the callee owns it. When accept() fails for lack of descriptors the
// listener pauses briefly (logged at most every 10 s) instead of spinning on a readable
// listen socket it cannot drain. adopt() serves a socket that is already bound and listening
// (one inherited from systemd): it is neither re-bound, nor chmod'ed, nor unlinked. Loop
// thread only.
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/unix_socket_file.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;

namespace mtasts::net {

struct ListenAddress {
  enum class Kind { Inet, Unix };
  Kind kind = Kind::Inet;
  std::string host;   // inet: without brackets
  std::uint16_t port = 0;
  std::string path;   // unix
};

Result<ListenAddress> parseListenAddress(std::string_view spec);

class Listener {
 public:
  // Called with an accepted socket (owned by the callee from now on, also when it throws)
  // and the peer as text ("127.0.0.1:5555").
  using AcceptFn = std::function<void(UniqueFd fd, std::string peer)>;

  static Result<std::unique_ptr<Listener>> open(event_base* base, const ListenAddress& address,
                                                const SocketFilePermissions& unix_options,
                                                AcceptFn on_accept);
  // Serves `fd`, a listening SOCK_STREAM socket (inet or unix) someone else bound: its
  // backlog is kept (listen() is not called again), its socket file is left alone. The fd
  // is owned from here on (closed on error too).
  static Result<std::unique_ptr<Listener>> adopt(event_base* base, UniqueFd fd, AcceptFn on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Who takes accepted sockets from now on (a listener bound before its user exists,
  // e.g. before the privilege drop, gets it later). Without one, sockets are closed.
  void setAcceptFn(AcceptFn on_accept) { on_accept_ = std::move(on_accept); }

  // The bound address: "127.0.0.1:41234", "[::1]:8461", "unix:/run/x.sock".
  const std::string& boundName() const { return bound_name_; }
  std::uint16_t boundPort() const { return bound_port_; }

 private:
  Listener() = default;
  static void acceptTrampoline(evconnlistener*, int fd, ::sockaddr* sa, int len, void* arg) noexcept;
  static void errorTrampoline(evconnlistener*, void* arg) noexcept;
  static void resumeTrampoline(int, short, void* arg) noexcept;

  evconnlistener* listener_ = nullptr;
  event* resume_timer_ = nullptr;  // re-enables accepting after running out of fds
  std::int64_t last_error_log_ms_ = -1;
  std::uint64_t errors_since_log_ = 0;
  AcceptFn on_accept_;
  std::string bound_name_;
  std::string unix_path_;
  std::uint16_t bound_port_ = 0;
};

// "1.2.3.4:5", "[::1]:5", "unix" for a sockaddr (peer names in logs).
std::string sockaddrToString(const ::sockaddr* sa, int len);
// The local address of a bound socket in the `listen` syntax: "inet:127.0.0.1:8461",
// "inet:[::1]:8461", "unix:/run/x.sock" ("unix:" for an unnamed or abstract unix socket);
// empty if getsockname fails or the family is another.
std::string localListenAddress(int fd);

// Raises the soft RLIMIT_NOFILE to at least `wanted` (never lowers it): up to the hard
// limit, and beyond it when the process may raise the hard limit (root, up to
// fs.nr_open). Returns the soft limit now in force; an error only if getrlimit fails.
Result<std::size_t> raiseFileLimit(std::size_t wanted);

}  // namespace mtasts::net
