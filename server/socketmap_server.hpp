// SocketmapServer: Postfix socketmap_table(5) front end on one libevent loop. Owns its
// listeners and connections (plain sockets and events); asks a postfix::PolicyLookup (not
// owned, must outlive the server) for every normalised key and answers strictly in request
// order. Bad input
// closes only the offending connection with one warn line; internal problems become a
// TEMP reply, never a crash. All methods and callbacks run on the event_base's thread.
#pragma once

#include "common/result.hpp"
#include "common/scheduler.hpp"
#include "net/c_handles.hpp"
#include "net/listener.hpp"
#include "postfix/policy_answer.hpp"
#include "server/socketmap_metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct event;
struct event_base;

namespace mtasts::server {

struct ServerLimits {
  std::size_t max_query_size = 10000;
  std::size_t max_reply_size = 100000;
  std::size_t max_connections = 1000;
  std::size_t max_pipelined = 1000;
  std::size_t max_output_buffer = 256 * 1024;  // reading pauses while more is unsent
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::vector<std::string> tlsrpt_map_names;
};

class SocketmapConnection;

class SocketmapServer {
 public:
  // Timeouts (idle, write, shutdown) run on `scheduler`, which must outlive the server.
  // Counts into `metrics` (detached handles by default).
  SocketmapServer(event_base* base, Scheduler& scheduler, postfix::PolicyLookup& lookup, ServerLimits limits,
                  SocketmapMetrics metrics = {});
  ~SocketmapServer();
  SocketmapServer(const SocketmapServer&) = delete;
  SocketmapServer& operator=(const SocketmapServer&) = delete;

  // Binds one listener per entry ("inet:HOST:PORT", "unix:/path") and serves on them;
  // error names the entry. First raises RLIMIT_NOFILE to what max_connections needs.
  Result<void> listen(const std::vector<std::string>& specs, const net::SocketFilePermissions& unix_options);
  // The same in two steps, for a daemon that binds as root before it drops privileges and
  // builds the server after: bindListeners() raises RLIMIT_NOFILE (beyond the hard limit
  // only as root) and binds; the server then serves on what it adopts. An entry for which
  // `inherited` returns a socket (one systemd passed, already listening) is served on that
  // socket instead of a new one (Listener::adopt: its file is never touched).
  using InheritedFn = std::function<std::optional<net::UniqueFd>(const std::string& spec)>;
  struct BoundListeners {
    std::vector<std::unique_ptr<net::Listener>> listeners;
    std::size_t connection_cap = SIZE_MAX;  // max_connections, lowered to what RLIMIT_NOFILE allows
  };
  static Result<BoundListeners> bindListeners(event_base* base, const std::vector<std::string>& specs,
                                              const net::SocketFilePermissions& unix_options, const ServerLimits& limits,
                                              const InheritedFn& inherited = {});
  void adoptListeners(BoundListeners bound);
  // Bound names in listen order ("127.0.0.1:41234"), and ports (0 for unix).
  std::vector<std::string> boundNames() const;
  std::vector<std::uint16_t> boundPorts() const;

  // Reload: new limits apply to new requests and new connections (a larger
  // max_connections raises RLIMIT_NOFILE again, up to the hard limit).
  void updateLimits(ServerLimits limits);

  // Graceful stop: close the listeners, close idle connections, let in-flight requests be
  // answered; done() runs once when the last connection closed or after timeout.
  void stopAccepting();
  void shutdown(std::chrono::milliseconds timeout, std::function<void()> done);

  std::size_t connectionCount() const { return connections_.size(); }
  // max_connections, lowered when RLIMIT_NOFILE cannot be raised far enough for it.
  std::size_t connectionCap() const { return std::min(limits_.max_connections, fd_connection_cap_); }

 private:
  friend class SocketmapConnection;
  void accept(net::UniqueFd fd, std::string peer);
  // Destroys the connection. While draining, also reports the shutdown done after the last
  // one, unless the caller does that itself as its last action (check_shutdown false).
  void closeConnection(SocketmapConnection* connection, bool check_shutdown = true);
  void checkShutdownDone();  // may run the shutdown callback, which may destroy the server
  // Replies are sent in one burst per loop turn (see SocketmapConnection::flushReplies).
  void queueSend(SocketmapConnection* connection);
  void cancelSend(SocketmapConnection* connection);
  static void sendTrampoline(int, short, void* arg) noexcept;
  void ensureFileLimit();
  // RLIMIT_NOFILE for max_connections; returns the connection cap it allows.
  static std::size_t raiseFileLimitFor(std::size_t max_connections);
  void onShutdownTimeout();

  // One read buffer for every connection (one thread): a connection keeps only the bytes
  // of an incomplete request, so an idle connection holds no buffer.
  static constexpr std::size_t ReadChunk = 16 * 1024;
  std::unique_ptr<char[]> read_buffer_ = std::make_unique<char[]>(ReadChunk);
  event_base* base_;
  Scheduler& scheduler_;
  postfix::PolicyLookup& lookup_;
  ServerLimits limits_;
  SocketmapMetrics metrics_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<SocketmapConnection*, std::unique_ptr<SocketmapConnection>> connections_;
  std::vector<SocketmapConnection*> send_queue_;
  std::vector<SocketmapConnection*> sending_;  // the queue being worked through, reused
  event* send_event_ = nullptr;
  bool draining_ = false;
  std::function<void()> shutdown_done_;
  RequestHandle shutdown_timer_;
  std::size_t fd_connection_cap_ = SIZE_MAX;
  std::uint64_t rejected_since_log_ = 0;
  std::optional<std::chrono::milliseconds> last_reject_log_;  // scheduler time
};

}  // namespace mtasts::server
