// MetricsComponent: the Prometheus endpoint of the running daemon (key metrics_listen, off
// when empty). bind() takes the socket systemd passed for metrics_listen or binds it (as
// root, like the other listeners); start() registers the store gauges (entries per store,
// map size and use: callback gauges read at scrape time) for every store the components
// before it opened, and serves GET /metrics (net/metrics_http_server.hpp) with the Runtime's
// registry in the text exposition format. It is the last component, so that every store is
// open by its start(). drain() closes the listener. Reads settings.metrics only. Loop thread.
#pragma once

#include "common/metrics.hpp"
#include "daemon/component.hpp"
#include "net/c_handles.hpp"
#include "net/metrics_http_server.hpp"

#include <memory>
#include <vector>

namespace mtasts::daemon {

class Runtime;

class MetricsComponent final : public Component {
 public:
  MetricsComponent(Runtime& runtime, const MetricsSettings& settings);
  ~MetricsComponent() override;

  std::string_view name() const override { return "metrics"; }
  Result<void> bind() override;
  Result<void> start() override;
  void drain(std::function<void()> done) override;
  std::string startupFields() const override;

 private:
  Result<void> registerStoreGauges();

  Runtime& runtime_;
  MetricsSettings settings_;
  net::UniqueFd listening_;  // between bind() and start()
  std::vector<metrics::GaugeCallback> gauges_;
  std::unique_ptr<net::MetricsHttpServer> server_;
};

}  // namespace mtasts::daemon
