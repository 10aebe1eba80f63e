#include "server/socketmap_metrics.hpp"

namespace mtasts::server {
namespace {

constexpr const char* Timeouts = "mtastsd_socketmap_connections_timed_out_total";
constexpr const char* TimeoutsHelp =
    "Socketmap connections closed for a timeout: a request not completed within idle_timeout (request), "
    "replies not read within write_timeout (write)";
constexpr const char* Bad = "mtastsd_socketmap_bad_requests_total";
constexpr const char* BadHelp =
    "Socketmap requests refused as malformed, by reason (malformed_netstring and too_long close the "
    "connection, invalid_request is answered PERM)";

}  // namespace

Result<SocketmapMetrics> SocketmapMetrics::create(metrics::Registry& registry) {
  SocketmapMetrics m;
  struct CounterSpec {
    metrics::Counter* into;
    const char* name;
    const char* help;
    metrics::Labels labels;
  };
  const CounterSpec counters[] = {
      {&m.accepted, "mtastsd_socketmap_connections_accepted_total", "Socketmap connections accepted", {}},
      {&m.refused, "mtastsd_socketmap_connections_refused_total",
       "Socketmap connections closed at once because max_connections were open", {}},
      {&m.request_timeouts, Timeouts, TimeoutsHelp, {{"timeout", "request"}}},
      {&m.write_timeouts, Timeouts, TimeoutsHelp, {{"timeout", "write"}}},
      {&m.bad_netstrings, Bad, BadHelp, {{"reason", "malformed_netstring"}}},
      {&m.too_long, Bad, BadHelp, {{"reason", "too_long"}}},
      {&m.invalid_requests, Bad, BadHelp, {{"reason", "invalid_request"}}},
  };
  for (const auto& spec : counters) {
    auto c = registry.counter(spec.name, spec.help, spec.labels);
    if (!c) return Unexpected{std::move(c).error()};
    *spec.into = *c;
  }
  auto open = registry.gauge("mtastsd_socketmap_connections_open", "Socketmap connections open now");
  if (!open) return Unexpected{std::move(open).error()};
  m.open = *open;
  return m;
}

}  // namespace mtasts::server
