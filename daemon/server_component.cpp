#include "daemon/server_component.hpp"

#include "daemon/policy_component.hpp"
#include "daemon/runtime.hpp"

namespace mtasts::daemon {

server::ServerLimits serverLimits(const ServerSettings& s) {
  server::ServerLimits limits;
  limits.max_query_size = s.max_query_size;
  limits.max_reply_size = s.max_reply_size;
  limits.max_connections = s.max_connections;
  limits.max_pipelined = s.max_pipelined;
  limits.idle_timeout = s.idle_timeout;
  limits.write_timeout = s.write_timeout;
  limits.tlsrpt_map_names = s.tlsrpt_map_names;
  return limits;
}

ServerComponent::ServerComponent(Runtime& runtime, const ServerSettings& settings, PolicyComponent& policy)
    : runtime_(runtime), settings_(settings), policy_(policy) {}

ServerComponent::~ServerComponent() = default;

Result<void> ServerComponent::bind() {
  auto bound = server::SocketmapServer::bindListeners(
      runtime_.base(), settings_.listen,
      net::SocketFilePermissions{settings_.unix_socket_mode, settings_.unix_socket_owner, settings_.unix_socket_group},
      serverLimits(settings_),
      [this](const std::string& spec) { return runtime_.takeInheritedSocket(SocketKind::Stream, spec); });
  if (!bound) return Unexpected{std::move(bound).error()};
  bound_ = std::move(*bound);
  return {};
}

Result<void> ServerComponent::start() {
  server::SocketmapMetrics metrics;
  if (runtime_.metricsEnabled()) {
    auto made = server::SocketmapMetrics::create(runtime_.metrics());
    if (!made) return Unexpected{std::move(made).error()};
    metrics = *made;
  }
  server_ = std::make_unique<server::SocketmapServer>(runtime_.base(), runtime_.scheduler(), policy_.lookup(),
                                                      serverLimits(settings_), metrics);
  if (bound_) server_->adoptListeners(std::move(*bound_));
  bound_.reset();
  return {};
}

void ServerComponent::reload(const Settings& settings) {
  settings_ = settings.server;
  if (server_) server_->updateLimits(serverLimits(settings_));
}

void ServerComponent::drain(std::function<void()> done) {
  if (!server_) return done();
  server_->shutdown(settings_.shutdown_timeout, std::move(done));
}

std::string ServerComponent::startupFields() const {
  std::string names;
  if (server_) {
    for (const auto& name : server_->boundNames()) names += (names.empty() ? "" : ",") + name;
  }
  return " listen=" + names;
}

}  // namespace mtasts::daemon
