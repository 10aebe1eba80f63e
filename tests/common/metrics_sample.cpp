#include "tests/common/metrics_sample.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace mtasts::metrics::testing {

namespace {
template <typename T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(r).value();
}
}  // namespace

void fillSampleRegistry(Registry& registry, std::vector<GaugeCallback>& callbacks) {
  const std::array<std::pair<const char*, int>, 4> verdicts{
      {{"enforce", 1200}, {"testing", 30}, {"none", 4500}, {"temp", 2}}};
  for (const auto& [verdict, n] : verdicts) {
    must(registry.counter("mtastsd_lookups_total", "Socketmap lookups answered, by verdict.",
                          {{"verdict", verdict}}))
        .inc(static_cast<std::uint64_t>(n));
  }
  for (const char* result : {"hit", "miss", "expired"}) {
    must(registry.counter("mtastsd_cache_lookups_total", "Policy cache lookups, by result.",
                          {{"result", result}}))
        .inc(std::string(result).size());
  }
  must(registry.counter("mtastsd_resolves_total", "Policy resolves finished, by outcome and result type.",
                        {{"outcome", "success"}, {"result_type", ""}}))
      .inc(40);
  must(registry.counter("mtastsd_resolves_total", "Policy resolves finished, by outcome and result type.",
                        {{"outcome", "failure"}, {"result_type", "sts-webpki-invalid"}}))
      .inc(3);
  const std::array<double, 8> bounds{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  Histogram fetch = must(registry.histogram(
      "mtastsd_fetch_duration_seconds", "Time to fetch one MTA-STS policy over HTTPS.", bounds));
  for (double v : {0.03, 0.07, 0.07, 0.3, 0.75, 12.0}) fetch.observe(v);
  must(registry.gauge("mtastsd_connections_open", "Socketmap connections open now.")).set(7);
  must(registry.counter("mtastsd_connections_refused_total",
                        "Socketmap connections refused at the connection limit."))
      .inc(1);
  callbacks.push_back(must(registry.gaugeCallback(
      "mtastsd_store_entries", "Policies in the store.", {}, [] { return 5732.0; })));
  callbacks.push_back(must(registry.gaugeCallback(
      "mtastsd_store_map_used_ratio", "Share of the LMDB map in use.", {}, [] { return 0.125; })));
  // A source name with every character the format escapes in a label value.
  must(registry.counter("mtastsd_tlsrpt_sessions_total", "TLS-RPT sessions recorded, by source.\nSee mtastsd(8) \\ metrics.",
                        {{"source", "datagram"}}))
      .inc(10);
  must(registry.counter("mtastsd_tlsrpt_sessions_total", "TLS-RPT sessions recorded, by source.\nSee mtastsd(8) \\ metrics.",
                        {{"source", "odd \"quoted\" \\path\nnext"}}))
      .inc(1);
}

}  // namespace mtasts::metrics::testing
