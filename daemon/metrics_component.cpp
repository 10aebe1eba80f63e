#include "daemon/metrics_component.hpp"

#include "cache/lmdb_env.hpp"
#include "common/log.hpp"
#include "common/metrics_text.hpp"
#include "daemon/runtime.hpp"

#include <limits>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("metrics");
  return logger;
}

constexpr double NotANumber = std::numeric_limits<double>::quiet_NaN();

}  // namespace

MetricsComponent::MetricsComponent(Runtime& runtime, const MetricsSettings& settings)
    : runtime_(runtime), settings_(settings) {}

MetricsComponent::~MetricsComponent() = default;

Result<void> MetricsComponent::bind() {
  if (settings_.metrics_listen.empty()) return {};
  if (auto inherited = runtime_.takeInheritedSocket(SocketKind::Stream, settings_.metrics_listen)) {
    listening_ = std::move(*inherited);
    return {};
  }
  auto address = net::parseListenAddress(settings_.metrics_listen);
  if (!address) return Unexpected{std::move(address).error()};
  auto bound = net::MetricsHttpServer::bindInet(*address);
  if (!bound) return Unexpected{std::move(bound).error()};
  listening_ = std::move(*bound);
  return {};
}

Result<void> MetricsComponent::start() {
  if (!listening_) return {};
  if (auto ok = registerStoreGauges(); !ok) return ok;
  metrics::Registry& registry = runtime_.metrics();
  auto server = net::MetricsHttpServer::create(
      runtime_.base(), std::move(listening_), net::MetricsHttpLimits{},
      [&registry] { return metrics::renderPrometheusText(registry.collect()); },
      std::string(metrics::PrometheusTextContentType));
  if (!server) return Unexpected{std::move(server).error()};
  server_ = std::move(*server);
  log()->info("serving metrics address={} path=/metrics", server_->boundName());
  return {};
}

// One entries gauge per store open now, and the map's size and use. The env outlives this
// component (the Runtime destroys components first), and the gauges go with it.
Result<void> MetricsComponent::registerStoreGauges() {
  const std::shared_ptr<cache::LmdbEnv>& env = runtime_.env();
  if (!env) return {};
  cache::LmdbEnv* raw = env.get();
  metrics::Registry& registry = runtime_.metrics();
  for (const auto& [name, dbi] : raw->openStores()) {
    auto gauge = registry.gaugeCallback(
        "mtastsd_store_entries", "Records in each store of the LMDB environment (state_dir)", {{"store", name}},
        [raw, dbi = dbi] {
          auto n = raw->entries(dbi);
          return n ? static_cast<double>(*n) : NotANumber;
        });
    if (!gauge) return Unexpected{std::move(gauge).error()};
    gauges_.push_back(std::move(*gauge));
  }
  auto size = registry.gaugeCallback("mtastsd_store_map_size_bytes",
                                     "Size of the LMDB map (address space; it doubles when full, up to its cap)", {},
                                     [raw] { return static_cast<double>(raw->usage().map_size); });
  if (!size) return Unexpected{std::move(size).error()};
  gauges_.push_back(std::move(*size));
  auto used = registry.gaugeCallback("mtastsd_store_map_used_bytes",
                                     "Bytes of the LMDB map in use (up to the last page written)", {},
                                     [raw] { return static_cast<double>(raw->usage().used_bytes); });
  if (!used) return Unexpected{std::move(used).error()};
  gauges_.push_back(std::move(*used));
  return {};
}

void MetricsComponent::drain(std::function<void()> done) {
  if (server_) server_->stopAccepting();
  done();
}

std::string MetricsComponent::startupFields() const {
  return server_ ? " metrics=" + server_->boundName() : std::string();
}

}  // namespace mtasts::daemon
