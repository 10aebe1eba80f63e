// A registry filled the way the daemon's will be ([11]: lookups by verdict, cache, resolves,
// fetch duration, store, connections, TLS-RPT), with fixed values and label values that
// need escaping. One source for two checks: the golden exposition (metrics_text_test.cpp)
// and `promtool check metrics` (metrics_promtool_sample + promtool_check.sh).
#pragma once

#include "common/metrics.hpp"

#include <vector>

namespace mtasts::metrics::testing {

// Registers and updates the sample series; the callback gauges stay registered while
// `callbacks` lives.
void fillSampleRegistry(Registry& registry, std::vector<GaugeCallback>& callbacks);

}  // namespace mtasts::metrics::testing
