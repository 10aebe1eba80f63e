#include "common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <utility>

namespace mtasts::metrics {

namespace detail {
struct alignas(64) HistogramCell {
  explicit HistogramCell(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)),
        counts(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}
  const std::vector<double> bounds;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> counts;  // bounds.size() + 1, last: +Inf
  std::atomic<double> sum{0};
};
}  // namespace detail

namespace {

detail::HistogramCell& detachedHistogram() {
  static detail::HistogramCell cell{{}};  // only a +Inf bucket
  return cell;
}

bool isLetterOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) { return isLetterOrUnderscore(c) || (c >= '0' && c <= '9'); }

// Prometheus allows ':' in metric names but reserves it for recording rules: an exporter
// must not use it, so [a-zA-Z_][a-zA-Z0-9_]* here, the same charset as label names.
bool validName(std::string_view name) {
  return !name.empty() && isLetterOrUnderscore(name.front()) &&
         std::all_of(name.begin(), name.end(), isNameChar);
}

bool validLabelName(std::string_view name) {
  return validName(name) && name.substr(0, 2) != "__";  // "__" is reserved for Prometheus
}

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The sample names a family writes: a clash between two families makes the exposition
// ambiguous, so registration refuses it.
std::vector<std::string> sampleNames(std::string_view name, MetricType type) {
  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::Histogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(std::string(name) + suffix);
  }
  return names;
}

Unexpected refuse(std::string_view name, std::string_view why) {
  return fail(ErrorCode::InvalidInput, "metric " + std::string(name) + ": " + std::string(why));
}

Result<void> checkNew(std::string_view name, std::string_view help, MetricType type,
                      std::span<const double> bounds) {
  if (!validName(name)) return refuse(name, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
  const bool total = endsWith(name, "_total");
  if (type == MetricType::Counter && (!total || name.size() == 6)) {
    return refuse(name, "counter names end in _total");
  }
  if (type != MetricType::Counter && total) return refuse(name, "only counters end in _total");
  if (help.empty()) return refuse(name, "help text is empty");
  if (!validUtf8(help)) return refuse(name, "help text is not UTF-8");
  if (type == MetricType::Histogram) {
    if (bounds.empty()) return refuse(name, "a histogram needs at least one bucket bound");
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i])) return refuse(name, "bucket bounds are finite (+Inf is implied)");
      if (i > 0 && !(bounds[i - 1] < bounds[i])) return refuse(name, "bucket bounds strictly increase");
    }
  }
  return {};
}

Result<void> checkLabels(std::string_view name, MetricType type, const Labels& labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Label& label = labels[i];
    if (!validLabelName(label.name)) {
      return refuse(name, "label name " + label.name + " must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
    }
    if (type == MetricType::Histogram && label.name == "le") {
      return refuse(name, "label le is the histogram's own");
    }
    if (!validUtf8(label.value)) return refuse(name, "value of label " + label.name + " is not UTF-8");
    for (std::size_t k = 0; k < i; ++k) {
      if (labels[k].name == label.name) return refuse(name, "label " + label.name + " given twice");
    }
  }
  return {};
}

}  // namespace

struct Registry::Series {
  std::vector<std::string> label_values;
  std::unique_ptr<detail::CounterCell> counter;
  std::unique_ptr<detail::GaugeCell> gauge;
  std::unique_ptr<detail::HistogramCell> histogram;
  std::function<double()> read;   // callback gauges
  std::uint64_t callback_id = 0;  // non-zero: a callback gauge
};

struct Registry::Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::Gauge;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::vector<std::unique_ptr<Series>> series;  // unique_ptr: handles point into them
};

Histogram::Histogram() noexcept : cell_(&detachedHistogram()) {}

void Histogram::observe(double v) const noexcept {
  const std::vector<double>& bounds = cell_->bounds;
  std::size_t i = 0;
  while (i < bounds.size() && !(v <= bounds[i])) ++i;  // NaN compares false: goes to +Inf
  cell_->counts[i].fetch_add(1, std::memory_order_relaxed);
  cell_->sum.fetch_add(v, std::memory_order_relaxed);
}

GaugeCallback::GaugeCallback(GaugeCallback&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(std::exchange(other.id_, 0)) {}

GaugeCallback& GaugeCallback::operator=(GaugeCallback&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

GaugeCallback::~GaugeCallback() { reset(); }

void GaugeCallback::reset() noexcept {
  if (registry_ != nullptr) std::exchange(registry_, nullptr)->removeCallback(id_);
  id_ = 0;
}

Registry::Registry() = default;
Registry::~Registry() = default;

Result<Registry::Series*> Registry::findOrAdd(std::string_view name, std::string_view help,
                                              MetricType type, const Labels& labels,
                                              std::span<const double> bounds, bool callback) {
  if (auto ok = checkLabels(name, type, labels); !ok) return Unexpected{std::move(ok).error()};
  auto family_it = std::find_if(families_.begin(), families_.end(),
                                [&](const auto& f) { return f->name == name; });
  Family* family = nullptr;
  if (family_it == families_.end()) {
    if (auto ok = checkNew(name, help, type, bounds); !ok) return Unexpected{std::move(ok).error()};
    for (const std::string& mine : sampleNames(name, type)) {
      for (const auto& other : families_) {
        for (const std::string& theirs : sampleNames(other->name, other->type)) {
          if (mine == theirs) return refuse(name, "clashes with the samples of " + other->name);
        }
      }
    }
    auto created = std::make_unique<Family>();
    created->name = name;
    created->help = help;
    created->type = type;
    for (const Label& label : labels) created->label_names.push_back(label.name);
    created->bounds.assign(bounds.begin(), bounds.end());
    family = families_.emplace_back(std::move(created)).get();
  } else {
    family = family_it->get();
    if (family->type != type) {
      return refuse(name, "registered before as a " + std::string(metricTypeName(family->type)));
    }
    if (family->help != help) return refuse(name, "registered before with another help text");
    bool same_names = family->label_names.size() == labels.size();
    for (std::size_t i = 0; same_names && i < labels.size(); ++i) {
      same_names = family->label_names[i] == labels[i].name;
    }
    if (!same_names) return refuse(name, "every series of a family has the same label names, in order");
    if (!std::equal(family->bounds.begin(), family->bounds.end(), bounds.begin(), bounds.end())) {
      return refuse(name, "registered before with other bucket bounds");
    }
  }
  for (const auto& series : family->series) {
    bool same = true;
    for (std::size_t i = 0; same && i < labels.size(); ++i) same = series->label_values[i] == labels[i].value;
    if (!same) continue;
    if (callback || series->callback_id != 0) return refuse(name, "this series is already registered");
    return series.get();
  }
  auto series = std::make_unique<Series>();
  for (const Label& label : labels) series->label_values.push_back(label.value);
  if (!callback) {
    switch (type) {
      case MetricType::Counter: series->counter = std::make_unique<detail::CounterCell>(); break;
      case MetricType::Gauge: series->gauge = std::make_unique<detail::GaugeCell>(); break;
      case MetricType::Histogram:
        series->histogram = std::make_unique<detail::HistogramCell>(family->bounds);
        break;
    }
  }
  return family->series.emplace_back(std::move(series)).get();
}

Result<Counter> Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto series = findOrAdd(name, help, MetricType::Counter, labels, {}, false);
  if (!series) return Unexpected{std::move(series).error()};
  return Counter((*series)->counter.get());
}

Result<Gauge> Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto series = findOrAdd(name, help, MetricType::Gauge, labels, {}, false);
  if (!series) return Unexpected{std::move(series).error()};
  return Gauge((*series)->gauge.get());
}

Result<Histogram> Registry::histogram(std::string_view name, std::string_view help,
                                      std::span<const double> bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto series = findOrAdd(name, help, MetricType::Histogram, labels, bounds, false);
  if (!series) return Unexpected{std::move(series).error()};
  return Histogram((*series)->histogram.get());
}

Result<GaugeCallback> Registry::gaugeCallback(std::string_view name, std::string_view help,
                                              const Labels& labels, std::function<double()> read) {
  if (!read) return refuse(name, "callback gauge without a callback");
  std::lock_guard lock(mutex_);
  auto series = findOrAdd(name, help, MetricType::Gauge, labels, {}, true);
  if (!series) return Unexpected{std::move(series).error()};
  (*series)->read = std::move(read);
  (*series)->callback_id = next_callback_id_++;
  return GaugeCallback(this, (*series)->callback_id);
}

void Registry::removeCallback(std::uint64_t id) noexcept {
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    auto& all = family->series;
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s->callback_id == id; });
    if (it != all.end()) {
      all.erase(it);
      return;
    }
  }
}

std::vector<MetricFamily> Registry::collect() const {
  std::lock_guard lock(mutex_);
  std::vector<MetricFamily> out;
  out.reserve(families_.size());
  for (const auto& family : families_) {
    MetricFamily& f = out.emplace_back();
    f.name = family->name;
    f.help = family->help;
    f.type = family->type;
    f.label_names = family->label_names;
    f.bounds = family->bounds;
    for (const auto& series : family->series) {
      MetricSeries& s = f.series.emplace_back();
      s.label_values = series->label_values;
      if (series->counter) {
        s.value = static_cast<double>(series->counter->value.load(std::memory_order_relaxed));
      } else if (series->gauge) {
        s.value = static_cast<double>(series->gauge->value.load(std::memory_order_relaxed));
      } else if (series->histogram) {
        const detail::HistogramCell& h = *series->histogram;
        for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
          s.bucket_counts.push_back(h.counts[i].load(std::memory_order_relaxed));
        }
        s.sum = h.sum.load(std::memory_order_relaxed);
      } else {
        try {
          s.value = series->read();
        } catch (...) {  // one broken reading must not take the whole scrape down
          s.value = std::numeric_limits<double>::quiet_NaN();
        }
      }
    }
  }
  return out;
}

}  // namespace mtasts::metrics
