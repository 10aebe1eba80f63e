#include "common/metrics_text.hpp"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <system_error>

namespace mtasts::metrics {

namespace {

// Below 2^53 every integer is exact in a double, so it can be written as one.
constexpr double ExactIntegerLimit = 9007199254740992.0;

// HELP text: the format escapes backslash and line feed (not the double quote).
void appendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values: backslash, double quote and line feed are escaped.
void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus an optional trailing le="..." (histogram buckets); nothing at all for a
// sample without labels.
void appendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le) {
  if (names.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    appendLabelValue(out, i < values.size() ? std::string_view(values[i]) : std::string_view());
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void appendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const MetricFamily& family, const MetricSeries& series, std::string_view le,
                  std::string_view value) {
  out += name;
  out += suffix;
  appendLabels(out, family.label_names, series.label_values, le);
  out += ' ';
  out += value;
  out += '\n';
}

void appendHistogram(std::string& out, const MetricFamily& family, const MetricSeries& series) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= family.bounds.size(); ++i) {
    // A snapshot built by hand may carry fewer counts than buckets: missing ones are 0.
    if (i < series.bucket_counts.size()) cumulative += series.bucket_counts[i];
    const std::string le =
        i < family.bounds.size() ? formatSampleValue(family.bounds[i]) : std::string("+Inf");
    appendSample(out, family.name, "_bucket", family, series, le,
                 formatSampleValue(static_cast<double>(cumulative)));
  }
  appendSample(out, family.name, "_sum", family, series, {}, formatSampleValue(series.sum));
  // _count equals the +Inf bucket by definition, so it is taken from there.
  appendSample(out, family.name, "_count", family, series, {},
               formatSampleValue(static_cast<double>(cumulative)));
}

}  // namespace

std::string_view metricTypeName(MetricType type) noexcept {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

std::string formatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::to_chars_result r{};
  if (std::trunc(value) == value && std::fabs(value) < ExactIntegerLimit) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  }
  if (r.ec != std::errc()) return "NaN";  // cannot happen with 32 bytes; never emit garbage
  return std::string(buf, r.ptr);
}

std::string renderPrometheusText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    if (family.series.empty()) continue;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    appendHelp(out, family.help);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += metricTypeName(family.type);
    out += '\n';
    for (const MetricSeries& series : family.series) {
      if (family.type == MetricType::Histogram) {
        appendHistogram(out, family, series);
      } else {
        appendSample(out, family.name, {}, family, series, {}, formatSampleValue(series.value));
      }
    }
  }
  return out;
}

}  // namespace mtasts::metrics
