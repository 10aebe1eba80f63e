// Metrics registry: counters, gauges and histograms whose label sets are fixed when they are
// registered. Registration (startup, any thread, under a mutex) validates names against the
// Prometheus rules and returns a handle to one series; updating through a handle is one
// relaxed atomic operation (no lock, allocation, hashing or string work), safe from any thread.
// The Registry owns every series and must outlive every handle. collect() snapshots all series
// (evaluating callback gauges) for metrics_text.hpp's renderer. Errors: Result (InvalidInput).
#pragma once

#include "common/metrics_text.hpp"
#include "common/result.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::metrics {

struct Label {
  std::string name;   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
  std::string value;  // any UTF-8
};
using Labels = std::vector<Label>;

namespace detail {
// One cache line per cell: the lookup thread and the TLS-RPT collector thread update
// neighbouring series, and must not slow each other down through false sharing.
struct alignas(64) CounterCell {
  std::atomic<std::uint64_t> value{0};
};
struct alignas(64) GaugeCell {
  std::atomic<std::int64_t> value{0};
};
struct HistogramCell;
// Where default-constructed (detached) handles write: counting into nowhere keeps the hot
// path free of a null check, and lets components run in tests without a registry.
inline CounterCell detached_counter;
inline GaugeCell detached_gauge;
}  // namespace detail

// A monotonically increasing count (Prometheus counter). Copyable, trivially cheap.
class Counter {
 public:
  Counter() noexcept : cell_(&detail::detached_counter) {}
  void inc(std::uint64_t n = 1) const noexcept {
    cell_->value.fetch_add(n, std::memory_order_relaxed);
  }
  // Meaningless on a detached handle (all of them share one cell).
  std::uint64_t value() const noexcept { return cell_->value.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Counter(detail::CounterCell* cell) noexcept : cell_(cell) {}
  detail::CounterCell* cell_;
};

// A value that goes up and down, kept by the code that changes it (connections open,
// reports pending). Whole numbers; fractional readings are callback gauges.
class Gauge {
 public:
  Gauge() noexcept : cell_(&detail::detached_gauge) {}
  void set(std::int64_t v) const noexcept { cell_->value.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) const noexcept { cell_->value.fetch_add(n, std::memory_order_relaxed); }
  void inc() const noexcept { add(1); }
  void dec() const noexcept { add(-1); }
  std::int64_t value() const noexcept { return cell_->value.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Gauge(detail::GaugeCell* cell) noexcept : cell_(cell) {}
  detail::GaugeCell* cell_;
};

// Observations counted into fixed buckets (e.g. fetch duration in seconds). observe() is a
// linear scan of the bounds, one relaxed add on the bucket and one on the sum; NaN lands in
// +Inf and makes the sum NaN (as other Prometheus clients do).
class Histogram {
 public:
  Histogram() noexcept;
  void observe(double v) const noexcept;

 private:
  friend class Registry;
  explicit Histogram(detail::HistogramCell* cell) noexcept : cell_(cell) {}
  detail::HistogramCell* cell_;
};

class Registry;

// Keeps a callback gauge registered; destroying (or reset()) removes its series, so a
// scrape never calls into a component that is gone. Move-only; must not outlive the
// Registry. The same series may be registered again once the old handle let go of it.
class [[nodiscard]] GaugeCallback {
 public:
  GaugeCallback() = default;
  GaugeCallback(GaugeCallback&& other) noexcept;
  GaugeCallback& operator=(GaugeCallback&& other) noexcept;
  GaugeCallback(const GaugeCallback&) = delete;
  GaugeCallback& operator=(const GaugeCallback&) = delete;
  ~GaugeCallback();
  void reset() noexcept;
  bool active() const noexcept { return registry_ != nullptr; }

 private:
  friend class Registry;
  GaugeCallback(Registry* registry, std::uint64_t id) noexcept : registry_(registry), id_(id) {}
  Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each call names one series: the family `name` (with `help` and type) plus label values.
  // Every series of a family has the same label names in the same order and the same help
  // (and, for histograms, the same bounds). Registering an existing series again returns
  // the same series (so a component rebuilt on reload keeps counting where it was).
  // Refused (InvalidInput): a bad metric or label name, a counter not ending in "_total" or
  // another type ending in it, a name clash with another family (also through a histogram's
  // _bucket/_sum/_count), empty help, text that is not UTF-8, histogram bounds that are
  // empty, not finite or not strictly increasing, or a label "le" on a histogram.
  Result<Counter> counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Gauge> gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Histogram> histogram(std::string_view name, std::string_view help,
                              std::span<const double> bounds, const Labels& labels = {});
  // A gauge read at scrape time (store entries, map use). `read` runs inside collect(), on
  // the collecting thread, with the registry locked: it must not touch the registry, and it
  // should not block. One that throws is reported as NaN.
  Result<GaugeCallback> gaugeCallback(std::string_view name, std::string_view help,
                                      const Labels& labels, std::function<double()> read);

  // Every family in registration order, each series in registration order.
  std::vector<MetricFamily> collect() const;

 private:
  friend class GaugeCallback;
  struct Series;
  struct Family;
  Result<Series*> findOrAdd(std::string_view name, std::string_view help, MetricType type,
                            const Labels& labels, std::span<const double> bounds,
                            bool callback);
  void removeCallback(std::uint64_t id) noexcept;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::uint64_t next_callback_id_ = 1;
};

}  // namespace mtasts::metrics
