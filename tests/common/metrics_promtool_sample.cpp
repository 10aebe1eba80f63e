// Writes the sample exposition (metrics_sample.hpp) to stdout, for promtool_check.sh.
#include "common/metrics.hpp"
#include "tests/common/metrics_sample.hpp"

#include <cstdio>
#include <exception>

int main() {
  try {
    mtasts::metrics::Registry registry;
    std::vector<mtasts::metrics::GaugeCallback> callbacks;
    mtasts::metrics::testing::fillSampleRegistry(registry, callbacks);
    const std::string text = mtasts::metrics::renderPrometheusText(registry.collect());
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metrics_promtool_sample: %s\n", e.what());
    return 1;
  }
}
