#include "server/socketmap_server.hpp"

#include "common/log.hpp"
#include "server/socketmap_connection.hpp"
#include "net/callback_guard.hpp"

#include <event2/event.h>
#include <event2/util.h>
#include <unistd.h>

#include <algorithm>

namespace mtasts::server {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("server");
  return logger;
}

constexpr auto RejectLogInterval = std::chrono::seconds(10);
// Descriptors kept for everything but socketmap clients: listeners, LMDB, DNS and HTTPS
// sockets of concurrent resolves, log files.
constexpr std::size_t ReservedFds = 256;

}  // namespace

SocketmapServer::SocketmapServer(event_base* base, Scheduler& scheduler, postfix::PolicyLookup& lookup,
                                 ServerLimits limits, SocketmapMetrics metrics)
    : base_(base), scheduler_(scheduler), lookup_(lookup), limits_(std::move(limits)), metrics_(metrics) {
  send_event_ = event_new(base_, -1, 0, &SocketmapServer::sendTrampoline, this);
  if (!send_event_) throw std::bad_alloc();
}

SocketmapServer::~SocketmapServer() {
  listeners_.clear();
  connections_.clear();  // each connection cancels its outstanding lookups
  shutdown_timer_.reset();
  event_free(send_event_);
}

void SocketmapServer::queueSend(SocketmapConnection* connection) {
  // Activated now, the event runs in this loop turn after the events already active.
  if (send_queue_.empty()) event_active(send_event_, EV_TIMEOUT, 0);
  send_queue_.push_back(connection);
}

void SocketmapServer::cancelSend(SocketmapConnection* connection) {
  std::erase(send_queue_, connection);
  std::replace(sending_.begin(), sending_.end(), connection, static_cast<SocketmapConnection*>(nullptr));
}

void SocketmapServer::sendTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<SocketmapServer*>(arg);
  self->sending_.swap(self->send_queue_);
  for (std::size_t i = 0; i < self->sending_.size(); ++i) {
    SocketmapConnection* connection = self->sending_[i];
    if (!connection) continue;  // closed meanwhile
    bool keep = false;
    (void)net::callGuarded("server", "sending replies", [&] { keep = connection->sendFramed(); });
    // Not checkShutdownDone() here: its callback may destroy the server, and the loop
    // still walks sending_.
    if (!keep) self->closeConnection(connection, false);
  }
  self->sending_.clear();
  if (self->draining_) self->checkShutdownDone();  // last: may destroy *self
}

Result<void> SocketmapServer::listen(const std::vector<std::string>& specs,
                                     const net::SocketFilePermissions& unix_options) {
  auto bound = bindListeners(base_, specs, unix_options, limits_);
  if (!bound) return Unexpected{std::move(bound).error()};
  adoptListeners(std::move(*bound));
  return {};
}

Result<SocketmapServer::BoundListeners> SocketmapServer::bindListeners(event_base* base,
                                                                       const std::vector<std::string>& specs,
                                                                       const net::SocketFilePermissions& unix_options,
                                                                       const ServerLimits& limits,
                                                                       const InheritedFn& inherited) {
  BoundListeners out;
  out.connection_cap = raiseFileLimitFor(limits.max_connections);
  for (const auto& spec : specs) {
    auto address = net::parseListenAddress(spec);
    if (!address) return Unexpected{std::move(address).error()};
    std::optional<net::UniqueFd> fd = inherited ? inherited(spec) : std::nullopt;
    auto listener = fd ? net::Listener::adopt(base, std::move(*fd), nullptr)
                       : net::Listener::open(base, *address, unix_options, nullptr);
    if (!listener) return Unexpected{std::move(listener).error()};
    if (!fd) log()->info("listening address={}", (*listener)->boundName());
    out.listeners.push_back(std::move(*listener));
  }
  return out;
}

void SocketmapServer::adoptListeners(BoundListeners bound) {
  fd_connection_cap_ = bound.connection_cap;
  for (auto& listener : bound.listeners) {
    listener->setAcceptFn([this](net::UniqueFd fd, std::string peer) { accept(std::move(fd), std::move(peer)); });
    listeners_.push_back(std::move(listener));
  }
}

std::vector<std::string> SocketmapServer::boundNames() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) out.push_back(l->boundName());
  return out;
}

std::vector<std::uint16_t> SocketmapServer::boundPorts() const {
  std::vector<std::uint16_t> out;
  for (const auto& l : listeners_) out.push_back(l->boundPort());
  return out;
}

void SocketmapServer::updateLimits(ServerLimits limits) {
  const bool more = limits.max_connections > limits_.max_connections;
  limits_ = std::move(limits);
  if (more) ensureFileLimit();
}

// Without this a distribution's default soft limit (1024) silently caps the daemon far
// below max_connections, and accept() failing with EMFILE is worse than a clean close.
std::size_t SocketmapServer::raiseFileLimitFor(std::size_t max_connections) {
  const std::size_t wanted = max_connections + ReservedFds;
  auto limit = net::raiseFileLimit(wanted);
  if (!limit) {
    log()->warn("cannot read RLIMIT_NOFILE error={}", escapeForLog(limit.error().detail));
    return SIZE_MAX;
  }
  if (*limit >= wanted) {
    log()->debug("RLIMIT_NOFILE soft limit={} max_connections={}", *limit, max_connections);
    return SIZE_MAX;
  }
  const std::size_t cap = *limit > 2 * ReservedFds ? *limit - ReservedFds : *limit / 2;
  log()->warn("RLIMIT_NOFILE too low for max_connections, capping connections limit={} wanted={} "
              "max_connections={} connection_cap={}",
              *limit, wanted, max_connections, cap);
  return cap;
}

void SocketmapServer::ensureFileLimit() { fd_connection_cap_ = raiseFileLimitFor(limits_.max_connections); }

void SocketmapServer::accept(net::UniqueFd fd, std::string peer) {
  if (draining_) return;  // closes fd
  if (connections_.size() >= connectionCap()) {
    fd.reset();
    metrics_.refused.inc();
    ++rejected_since_log_;
    const auto now = scheduler_.monotonicNow();
    if (!last_reject_log_ || now - *last_reject_log_ >= RejectLogInterval) {
      log()->warn("connection limit reached, closing new connections max_connections={} rejected={} peer={}",
                  connectionCap(), rejected_since_log_, peer);
      rejected_since_log_ = 0;
      last_reject_log_ = now;
    }
    return;
  }
  evutil_make_socket_nonblocking(fd.get());
  metrics_.accepted.inc();
  log()->debug("connection accepted peer={} connections={}", peer, connections_.size() + 1);
  // Throws (out of memory) back to the listener's guard; fd is closed exactly once, by
  // whichever owner it has reached.
  auto connection = std::make_unique<SocketmapConnection>(*this, std::move(fd), std::move(peer));
  SocketmapConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
}

void SocketmapServer::closeConnection(SocketmapConnection* connection, bool check_shutdown) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  // Destroy outside the map first so that re-entrant counting sees the final size.
  auto owned = std::move(it->second);
  connections_.erase(it);
  owned.reset();
  if (draining_ && check_shutdown) checkShutdownDone();
}

void SocketmapServer::stopAccepting() {
  if (!listeners_.empty()) log()->info("listeners closed");
  listeners_.clear();
}

void SocketmapServer::shutdown(std::chrono::milliseconds timeout, std::function<void()> done) {
  stopAccepting();
  draining_ = true;
  shutdown_done_ = std::move(done);
  std::vector<SocketmapConnection*> idle;
  for (auto& [raw, connection] : connections_)
    if (connection->beginDrain()) idle.push_back(raw);
  log()->info("shutting down connections={} idle={} shutdown_timeout_ms={}", connections_.size(), idle.size(),
              timeout.count());
  for (auto* raw : idle) {
    auto it = connections_.find(raw);
    if (it != connections_.end()) connections_.erase(it);
  }
  shutdown_timer_ = scheduler_.schedule(timeout, [this] { onShutdownTimeout(); });
  checkShutdownDone();
}

void SocketmapServer::checkShutdownDone() {
  if (!connections_.empty() || !shutdown_done_) return;
  shutdown_timer_.reset();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  (void)net::callGuarded("server", "shutdown callback", done);
}

void SocketmapServer::onShutdownTimeout() {
  if (!shutdown_done_) return;
  log()->warn("shutdown timeout, closing connections with requests in flight connections={}", connections_.size());
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  connections_.clear();
  (void)net::callGuarded("server", "shutdown callback", done);  // last: may destroy *this
}

}  // namespace mtasts::server
