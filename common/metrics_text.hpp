// A snapshot of metric families (plain values, produced by metrics::Registry::collect())
// and the pure renderer that writes it in the Prometheus text exposition format 0.0.4.
// No I/O, no state: whoever serves /metrics (the metrics listener, [11]) calls
// renderPrometheusText(registry.collect()) on its own loop and sends the bytes with
// PrometheusTextContentType. The renderer trusts names (the registry validated them)
// and escapes HELP text and label values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::metrics {

enum class MetricType { Counter, Gauge, Histogram };

// "counter", "gauge", "histogram": the word on the # TYPE line.
std::string_view metricTypeName(MetricType type) noexcept;

struct MetricSeries {
  std::vector<std::string> label_values;  // one per MetricFamily::label_names, same order
  double value = 0;                       // counter and gauge
  // Histogram only: observations per bucket, NOT cumulative; bounds.size() + 1 entries,
  // the last one is the +Inf bucket. The renderer accumulates them.
  std::vector<std::uint64_t> bucket_counts;
  double sum = 0;
};

struct MetricFamily {
  std::string name;  // counters end in _total; histograms get _bucket/_sum/_count appended
  std::string help;
  MetricType type = MetricType::Gauge;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histogram upper bounds, strictly increasing, +Inf implied
  std::vector<MetricSeries> series;
};

inline constexpr std::string_view PrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The whole exposition: per family "# HELP", "# TYPE", then one line per sample, each line
// ending in '\n'. A family without series is left out (nothing to say about it).
std::string renderPrometheusText(const std::vector<MetricFamily>& families);

// How a sample value is written: integers (|v| < 2^53) without a fraction or exponent,
// other values in the shortest form that reads back exactly, NaN, +Inf, -Inf.
std::string formatSampleValue(double value);

}  // namespace mtasts::metrics
