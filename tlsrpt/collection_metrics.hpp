// CollectionMetrics: TLS-RPT collection in the metrics registry (common/metrics.hpp), with
// Prometheus names under mtastsd_tlsrpt_: datagrams received / accepted / rejected by
// reason, parser warnings, sessions by source, sessions dropped at a bound or lost, commits
// and failed commits, the last commit time, whether the socket and the mail log run, and the
// mail-log counters. The collectors count in their own atomics (CollectorStats and the
// mail-log collector's stats); the registry's counters are brought up to them at scrape time,
// by the first series of this set (a callback gauge, registered before the counters, so
// collect() evaluates it first). No cost between scrapes, no timer. Scrape thread, under the
// registry's lock. The collection must outlive this object.
#pragma once

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "tlsrpt/collection.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace mtasts::tlsrpt {

class CollectionMetrics {
 public:
  static Result<std::unique_ptr<CollectionMetrics>> create(metrics::Registry& registry,
                                                           const TlsRptCollection& collection);

  // Brings every counter up to its source (what a scrape does first). Thread-safe.
  void sync();

  // What one sync reads: the collectors' counters at one moment (each exact, not one instant).
  struct Sources {
    const CollectorStats* stats = nullptr;
    std::optional<MaillogCollectorStats> maillog;
    const MaillogSinkCounters* sink = nullptr;
  };

 private:
  struct Mirror {
    metrics::Counter counter;
    std::function<std::uint64_t(const Sources&)> read;
    std::uint64_t last = 0;
  };

  explicit CollectionMetrics(const TlsRptCollection& collection) : collection_(collection) {}
  Result<void> mirror(metrics::Registry& registry, std::string_view name, std::string_view help,
                      const metrics::Labels& labels, std::function<std::uint64_t(const Sources&)> read);

  const TlsRptCollection& collection_;
  std::mutex mutex_;  // guards mirrors_' last values
  std::vector<Mirror> mirrors_;
  std::vector<metrics::GaugeCallback> gauges_;
};

}  // namespace mtasts::tlsrpt
