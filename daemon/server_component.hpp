// ServerComponent: the socketmap server in the running daemon. bind() raises RLIMIT_NOFILE
// and binds the listeners (as root), or takes the ones systemd passed (socket activation,
// Runtime::takeInheritedSocket); start() builds the SocketmapServer on them, asking the
// policy component's lookup; drain() is the server's graceful shutdown within
// shutdown_timeout. Reads settings.server only. Loop thread.
#pragma once

#include "daemon/component.hpp"
#include "server/socketmap_server.hpp"

#include <memory>
#include <optional>

namespace mtasts::daemon {

class PolicyComponent;
class Runtime;

// The server section as the server's limits.
server::ServerLimits serverLimits(const ServerSettings& settings);

class ServerComponent final : public Component {
 public:
  ServerComponent(Runtime& runtime, const ServerSettings& settings, PolicyComponent& policy);
  ~ServerComponent() override;

  std::string_view name() const override { return "server"; }
  Result<void> bind() override;
  Result<void> start() override;
  void reload(const Settings& settings) override;
  void drain(std::function<void()> done) override;
  std::string startupFields() const override;

 private:
  Runtime& runtime_;
  ServerSettings settings_;
  PolicyComponent& policy_;
  std::optional<server::SocketmapServer::BoundListeners> bound_;  // between bind() and start()
  std::unique_ptr<server::SocketmapServer> server_;
};

}  // namespace mtasts::daemon
