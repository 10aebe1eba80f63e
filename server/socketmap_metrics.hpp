// SocketmapMetrics: the socketmap server's counters in the metrics Registry (common/metrics.hpp,
// served by the daemon's metrics listener): connections accepted, open, refused at
// max_connections, closed for a timeout, and bad requests by kind. The handles default to
// detached ones that count into nowhere, so a server built without a registry (tests, metrics
// off) runs the same code. Updating is one relaxed atomic add; any thread, here the loop's.
#pragma once

#include "common/metrics.hpp"
#include "common/result.hpp"

namespace mtasts::server {

struct SocketmapMetrics {
  metrics::Counter accepted;
  metrics::Gauge open;
  metrics::Counter refused;           // closed at once: max_connections reached
  metrics::Counter request_timeouts;  // a request not completed within idle_timeout
  metrics::Counter write_timeouts;    // replies not read within write_timeout
  metrics::Counter bad_netstrings;    // not a netstring: connection closed
  metrics::Counter too_long;          // over max_query_size: connection closed
  metrics::Counter invalid_requests;  // not "<mapname> <key>": answered PERM

  // Registers every series (InvalidInput only on a name clash with another family).
  static Result<SocketmapMetrics> create(metrics::Registry& registry);
};

}  // namespace mtasts::server
