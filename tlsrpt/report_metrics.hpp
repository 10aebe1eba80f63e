// ReportMetrics: the report sender in the metrics registry (common/metrics.hpp), under
// mtastsd_tlsrpt_: reports built, delivery attempts delivered / failed and destinations given
// up, by scheme (mailto, https; the _smtp._tls lookups are not deliveries and are not
// counted), and the delivery records open (pending or claimed). Plain handles: the sender
// bumps them on the loop thread (never on its worker); a default-constructed ReportMetrics
// counts into detached cells (metrics_listen empty, tests). create() registers the series
// (startup, once); the Registry must outlive every copy. Errors: Result (a bad name).
#pragma once

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "tlsrpt/report_state_codec.hpp"

#include <array>

namespace mtasts::tlsrpt {

struct ReportMetrics {
  struct PerScheme {
    metrics::Counter delivered;  // mtastsd_tlsrpt_reports_delivered_total
    metrics::Counter failed;     // mtastsd_tlsrpt_report_attempts_failed_total
    metrics::Counter given_up;   // mtastsd_tlsrpt_reports_given_up_total
  };
  metrics::Counter built;        // mtastsd_tlsrpt_reports_built_total
  std::array<PerScheme, 2> schemes;  // [0] mailto, [1] https
  metrics::Gauge pending;        // mtastsd_tlsrpt_report_destinations_pending

  static Result<ReportMetrics> create(metrics::Registry& registry);

  // The counters of a delivery's scheme; nullptr for a lookup (not a report delivery).
  const PerScheme* of(DeliveryKind kind) const noexcept {
    switch (kind) {
      case DeliveryKind::Mailto: return &schemes[0];
      case DeliveryKind::Https: return &schemes[1];
      case DeliveryKind::Lookup: break;
    }
    return nullptr;
  }
};

}  // namespace mtasts::tlsrpt
