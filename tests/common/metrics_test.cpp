#include "common/metrics.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace mtasts;
using namespace mtasts::metrics;

// The hot path holds one pointer and copies it freely: nothing to allocate or look up.
static_assert(std::is_trivially_copyable_v<Counter> && sizeof(Counter) == sizeof(void*));
static_assert(std::is_trivially_copyable_v<Gauge> && sizeof(Gauge) == sizeof(void*));
static_assert(std::is_trivially_copyable_v<Histogram> && sizeof(Histogram) == sizeof(void*));

namespace {
template <typename T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(r).value();
}

const MetricFamily& familyNamed(const std::vector<MetricFamily>& all, const std::string& name) {
  for (const MetricFamily& f : all) {
    if (f.name == name) return f;
  }
  throw std::runtime_error("no family " + name);
}

constexpr std::array<double, 3> Bounds{0.1, 1, 10};
}  // namespace

TEST_CASE("a counter handle counts into its own series") {
  Registry registry;
  Counter enforce = must(registry.counter("lookups_total", "Lookups.", {{"verdict", "enforce"}}));
  Counter none = must(registry.counter("lookups_total", "Lookups.", {{"verdict", "none"}}));
  enforce.inc();
  enforce.inc(4);
  none.inc();
  CHECK(enforce.value() == 5);
  CHECK(none.value() == 1);
  const auto all = registry.collect();
  REQUIRE(all.size() == 1);
  const MetricFamily& f = all[0];
  CHECK(f.type == MetricType::Counter);
  CHECK(f.label_names == std::vector<std::string>{"verdict"});
  REQUIRE(f.series.size() == 2);
  CHECK(f.series[0].label_values == std::vector<std::string>{"enforce"});
  CHECK(f.series[0].value == 5);
  CHECK(f.series[1].value == 1);
}

TEST_CASE("registering a series again returns the same series") {
  Registry registry;
  Counter a = must(registry.counter("x_total", "X.", {{"k", "v"}}));
  a.inc(3);
  Counter b = must(registry.counter("x_total", "X.", {{"k", "v"}}));
  b.inc();
  CHECK(a.value() == 4);
  Histogram h1 = must(registry.histogram("d_seconds", "D.", Bounds));
  Histogram h2 = must(registry.histogram("d_seconds", "D.", Bounds));
  h1.observe(0.5);
  h2.observe(0.5);
  const auto all = registry.collect();
  CHECK(familyNamed(all, "x_total").series.size() == 1);
  CHECK(familyNamed(all, "d_seconds").series.at(0).bucket_counts ==
        std::vector<std::uint64_t>{0, 2, 0, 0});
}

TEST_CASE("a gauge goes up and down and can be set") {
  Registry registry;
  Gauge g = must(registry.gauge("connections_open", "Open."));
  g.inc();
  g.inc();
  g.dec();
  g.add(10);
  CHECK(g.value() == 11);
  g.set(-2);
  CHECK(registry.collect().at(0).series.at(0).value == -2);
}

TEST_CASE("a histogram counts each observation in the first bucket whose bound is not below it") {
  Registry registry;
  Histogram h = must(registry.histogram("fetch_seconds", "Fetch.", Bounds, {{"kind", "policy"}}));
  struct Row {
    double v;
    std::size_t bucket;
  };
  const Row rows[] = {{0, 0}, {0.1, 0}, {0.10001, 1}, {1, 1}, {9.99, 2}, {10, 2}, {10.5, 3}, {-1, 0}};
  std::vector<std::uint64_t> want(4, 0);
  double sum = 0;
  for (const Row& row : rows) {
    CAPTURE(row.v);
    h.observe(row.v);
    ++want[row.bucket];
    sum += row.v;
    const MetricSeries s = registry.collect().at(0).series.at(0);
    CHECK(s.bucket_counts == want);
    CHECK(s.sum == doctest::Approx(sum));
  }
  h.observe(std::nan(""));
  const MetricSeries s = registry.collect().at(0).series.at(0);
  CHECK(s.bucket_counts.back() == 2);
  CHECK(std::isnan(s.sum));
}

TEST_CASE("registration refuses names, labels and shapes Prometheus would not take") {
  Registry registry;
  REQUIRE(registry.counter("taken_total", "Taken.", {{"a", "1"}}));
  REQUIRE(registry.histogram("lat_seconds", "Latency.", Bounds));
  REQUIRE(registry.gauge("temp", "Temperature.", {{"room", "a"}}));
  const std::array<double, 0> no_bounds{};
  const std::array<double, 2> equal_bounds{1, 1};
  const std::array<double, 2> falling_bounds{2, 1};
  const std::array<double, 2> infinite_bounds{1, HUGE_VAL};
  const std::array<double, 2> other_bounds{1, 2};
  struct Row {
    const char* what;
    Result<void> got;
  };
  auto c = [&](std::string_view name, std::string_view help, const Labels& labels = {}) -> Result<void> {
    auto r = registry.counter(name, help, labels);
    if (!r) return Unexpected{std::move(r).error()};
    return {};
  };
  auto g = [&](std::string_view name, const Labels& labels = {}) -> Result<void> {
    auto r = registry.gauge(name, "Temperature.", labels);
    if (!r) return Unexpected{std::move(r).error()};
    return {};
  };
  auto h = [&](std::string_view name, std::span<const double> bounds, const Labels& labels = {}) -> Result<void> {
    auto r = registry.histogram(name, "Latency.", bounds, labels);
    if (!r) return Unexpected{std::move(r).error()};
    return {};
  };
  const Row rows[] = {
      {"empty name", c("", "H.")},
      {"name starting with a digit", c("1x_total", "H.")},
      {"name with a dash", c("a-b_total", "H.")},
      {"name with a colon (reserved for recording rules)", c("job:x_total", "H.")},
      {"name with a non-ASCII letter", c("caf\xc3\xa9_total", "H.")},
      {"counter without _total", c("requests", "H.")},
      {"counter named only _total", c("_total", "H.")},
      {"gauge ending in _total", g("open_total")},
      {"histogram ending in _total", h("lat_total", Bounds)},
      {"empty help", c("e_total", "")},
      {"help that is not UTF-8", c("u_total", "bad \xff byte")},
      {"label name with a dash", c("l_total", "H.", {{"a-b", "x"}})},
      {"label name starting with __", c("l_total", "H.", {{"__name", "x"}})},
      {"label name with a colon", c("l_total", "H.", {{"a:b", "x"}})},
      {"label given twice", c("l_total", "H.", {{"a", "x"}, {"a", "y"}})},
      {"label value that is not UTF-8", c("l_total", "H.", {{"a", "\xc0\xaf"}})},
      {"label value with a UTF-16 surrogate", c("l_total", "H.", {{"a", "\xed\xa0\x80"}})},
      {"histogram with a label le", h("le_seconds", Bounds, {{"le", "1"}})},
      {"histogram without bounds", h("nb_seconds", no_bounds)},
      {"histogram with equal bounds", h("eq_seconds", equal_bounds)},
      {"histogram with falling bounds", h("fall_seconds", falling_bounds)},
      {"histogram with an infinite bound", h("inf_seconds", infinite_bounds)},
      {"same family, other type", g("taken_total")},
      {"same family, other help", c("taken_total", "Other.", {{"a", "2"}})},
      {"same family, other label names", c("taken_total", "Taken.", {{"b", "1"}})},
      {"same family, fewer labels", c("taken_total", "Taken.")},
      {"same histogram, other bounds", h("lat_seconds", other_bounds)},
      {"a name the histogram's _bucket series uses", g("lat_seconds_bucket")},
      {"a name the histogram's _count series uses", g("lat_seconds_count")},
      {"a histogram whose _sum is an existing gauge", h("temp", Bounds)},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    CHECK_FALSE(row.got.has_value());
    if (!row.got) CHECK(row.got.error().code == ErrorCode::InvalidInput);
  }
  CHECK(registry.counter("ok_total", "Fine.", {{"k", "caf\xc3\xa9 \"q\" \\ \n"}}));
  CHECK(registry.counter("_under_score_total", "Fine."));
  CHECK(registry.gauge("sum", "A gauge may be called sum when no histogram makes it."));
  // None of the refused calls left a family behind.
  std::vector<std::string> names;
  for (const MetricFamily& f : registry.collect()) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"taken_total", "lat_seconds", "temp", "ok_total",
                                          "_under_score_total", "sum"});
}

TEST_CASE("a callback gauge is read at collect time and goes away with its handle") {
  Registry registry;
  double entries = 3;
  {
    GaugeCallback keep = must(registry.gaugeCallback("store_entries", "Entries.", {{"store", "policies"}},
                                                     [&] { return entries; }));
    CHECK(keep.active());
    CHECK(registry.collect().at(0).series.at(0).value == 3);
    entries = 8;
    CHECK(registry.collect().at(0).series.at(0).value == 8);
    // Only one live callback per series.
    CHECK_FALSE(registry.gaugeCallback("store_entries", "Entries.", {{"store", "policies"}},
                                       [] { return 0.0; }));
    GaugeCallback moved = std::move(keep);
    CHECK_FALSE(keep.active());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(registry.collect().at(0).series.size() == 1);
  }
  CHECK(registry.collect().at(0).series.empty());
  CHECK(renderPrometheusText(registry.collect()).empty());
  // Rebuilt on reload: the series can be registered again.
  GaugeCallback again = must(registry.gaugeCallback("store_entries", "Entries.", {{"store", "policies"}},
                                                    [] { return 1.0; }));
  CHECK(registry.collect().at(0).series.at(0).value == 1);
  again.reset();
  CHECK_FALSE(again.active());
  CHECK(registry.collect().at(0).series.empty());
  CHECK_FALSE(registry.gaugeCallback("no_read", "Nothing.", {}, {}));
}

TEST_CASE("a callback gauge that throws reads as NaN and the rest of the scrape goes on") {
  Registry registry;
  GaugeCallback bad = must(registry.gaugeCallback("broken", "Broken.", {},
                                                  []() -> double { throw std::runtime_error("x"); }));
  Counter ok = must(registry.counter("ok_total", "Fine."));
  ok.inc();
  CHECK(renderPrometheusText(registry.collect()) ==
        "# HELP broken Broken.\n# TYPE broken gauge\nbroken NaN\n"
        "# HELP ok_total Fine.\n# TYPE ok_total counter\nok_total 1\n");
}

TEST_CASE("detached handles count into nowhere and do not crash") {
  Counter c;
  Gauge g;
  Histogram h;
  c.inc();
  g.set(3);
  h.observe(1);
  Registry registry;
  CHECK(registry.collect().empty());
}

TEST_CASE("two threads updating the same series lose no update") {
  Registry registry;
  Counter shared = must(registry.counter("shared_total", "Shared."));
  Counter mine = must(registry.counter("per_thread_total", "Per thread.", {{"thread", "a"}}));
  Counter theirs = must(registry.counter("per_thread_total", "Per thread.", {{"thread", "b"}}));
  Gauge level = must(registry.gauge("level", "Level."));
  Histogram h = must(registry.histogram("work_seconds", "Work.", Bounds));
  constexpr int N = 200'000;
  auto work = [&](Counter own) {
    for (int i = 0; i < N; ++i) {
      shared.inc();
      own.inc(2);
      level.inc();
      level.dec();
      h.observe(i % 2 == 0 ? 0.5 : 20.0);
    }
  };
  std::thread a(work, mine);
  std::thread b(work, theirs);
  a.join();
  b.join();
  CHECK(shared.value() == 2u * N);
  CHECK(mine.value() == 2u * N);
  CHECK(theirs.value() == 2u * N);
  CHECK(level.value() == 0);
  const MetricSeries s = familyNamed(registry.collect(), "work_seconds").series.at(0);
  CHECK(s.bucket_counts == std::vector<std::uint64_t>{0, N, 0, N});
  CHECK(s.sum == 2.0 * (N / 2) * 0.5 + 2.0 * (N / 2) * 20.0);  // exact: all halves and integers
}
