#include "common/metrics_text.hpp"

#include "common/metrics.hpp"
#include "tests/common/metrics_sample.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace mtasts::metrics;

namespace {
MetricFamily family(std::string name, MetricType type, std::vector<std::string> label_names,
                    std::vector<MetricSeries> series, std::vector<double> bounds = {}) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = "Help.";
  f.type = type;
  f.label_names = std::move(label_names);
  f.bounds = std::move(bounds);
  f.series = std::move(series);
  return f;
}

MetricSeries value(double v, std::vector<std::string> labels = {}) {
  MetricSeries s;
  s.label_values = std::move(labels);
  s.value = v;
  return s;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}
}  // namespace

TEST_CASE("formatSampleValue writes integers plainly and other values exactly") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Row {
    double in;
    const char* want;
  };
  const Row rows[] = {
      {0, "0"},           {-0.0, "0"},          {1, "1"},
      {-3, "-3"},         {1e6, "1000000"},     {0.1, "0.1"},
      {2.5, "2.5"},       {0.005, "0.005"},     {1e-9, "1e-09"},
      {1e20, "1e+20"},    {9007199254740991.0, "9007199254740991"},
      {nan, "NaN"},       {inf, "+Inf"},        {-inf, "-Inf"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.want);
    CHECK(formatSampleValue(row.in) == row.want);
  }
}

TEST_CASE("renderPrometheusText writes each family as HELP, TYPE and its samples") {
  struct Row {
    const char* what;
    std::vector<MetricFamily> families;
    const char* want;
  };
  MetricFamily escaped_help = family("x_total", MetricType::Counter, {}, {value(1)});
  escaped_help.help = "a \\ b\nc \"d\"";
  MetricSeries histogram_series;
  histogram_series.label_values = {"GET"};
  histogram_series.bucket_counts = {1, 0, 2, 1};
  histogram_series.sum = 7.25;
  MetricSeries short_counts;  // a hand-made snapshot with too few counts: missing ones are 0
  short_counts.bucket_counts = {3};
  short_counts.sum = 0.5;

  const Row rows[] = {
      {"nothing at all", {}, ""},
      {"a family without series is left out",
       {family("gone", MetricType::Gauge, {}, {})}, ""},
      {"a counter without labels",
       {family("up_total", MetricType::Counter, {}, {value(42)})},
       "# HELP up_total Help.\n# TYPE up_total counter\nup_total 42\n"},
      {"a gauge with two series in registration order",
       {family("temp", MetricType::Gauge, {"room", "floor"},
               {value(21.5, {"b", "1"}), value(-4, {"a", "0"})})},
       "# HELP temp Help.\n# TYPE temp gauge\n"
       "temp{room=\"b\",floor=\"1\"} 21.5\ntemp{room=\"a\",floor=\"0\"} -4\n"},
      {"label values escape backslash, quote and line feed, nothing else",
       {family("esc", MetricType::Gauge, {"v"}, {value(1, {"a\\b\"c\nd\te"})})},
       "# HELP esc Help.\n# TYPE esc gauge\nesc{v=\"a\\\\b\\\"c\\nd\te\"} 1\n"},
      {"help text escapes backslash and line feed but not the quote",
       {escaped_help},
       "# HELP x_total a \\\\ b\\nc \"d\"\n# TYPE x_total counter\nx_total 1\n"},
      {"special gauge values",
       {family("odd", MetricType::Gauge, {"k"},
               {value(std::numeric_limits<double>::quiet_NaN(), {"nan"}),
                value(-std::numeric_limits<double>::infinity(), {"ninf"})})},
       "# HELP odd Help.\n# TYPE odd gauge\nodd{k=\"nan\"} NaN\nodd{k=\"ninf\"} -Inf\n"},
      {"a histogram's buckets are cumulative, end in +Inf, then _sum and _count",
       {family("req_seconds", MetricType::Histogram, {"method"}, {histogram_series},
               {0.1, 0.5, 2})},
       "# HELP req_seconds Help.\n# TYPE req_seconds histogram\n"
       "req_seconds_bucket{method=\"GET\",le=\"0.1\"} 1\n"
       "req_seconds_bucket{method=\"GET\",le=\"0.5\"} 1\n"
       "req_seconds_bucket{method=\"GET\",le=\"2\"} 3\n"
       "req_seconds_bucket{method=\"GET\",le=\"+Inf\"} 4\n"
       "req_seconds_sum{method=\"GET\"} 7.25\n"
       "req_seconds_count{method=\"GET\"} 4\n"},
      {"a histogram without labels has only le",
       {family("h", MetricType::Histogram, {}, {short_counts}, {1, 10})},
       "# HELP h Help.\n# TYPE h histogram\n"
       "h_bucket{le=\"1\"} 3\nh_bucket{le=\"10\"} 3\nh_bucket{le=\"+Inf\"} 3\n"
       "h_sum 0.5\nh_count 3\n"},
      {"families follow each other in order",
       {family("a_total", MetricType::Counter, {}, {value(1)}),
        family("b", MetricType::Gauge, {}, {value(2)})},
       "# HELP a_total Help.\n# TYPE a_total counter\na_total 1\n"
       "# HELP b Help.\n# TYPE b gauge\nb 2\n"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    const std::string got = renderPrometheusText(row.families);
    CHECK(got == row.want);
  }
}

TEST_CASE("the sample registry renders exactly as the golden exposition") {
  Registry registry;
  std::vector<GaugeCallback> callbacks;
  testing::fillSampleRegistry(registry, callbacks);
  const std::string got = renderPrometheusText(registry.collect());
  const std::string want = readFile(MTASTS_METRICS_GOLDEN);
  REQUIRE_FALSE(want.empty());
  // After a deliberate change: build/tests/common/metrics_promtool_sample > the golden file.
  CHECK(got == want);
}
