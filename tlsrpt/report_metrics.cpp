#include "tlsrpt/report_metrics.hpp"

#include <string>

namespace mtasts::tlsrpt {

Result<ReportMetrics> ReportMetrics::create(metrics::Registry& registry) {
  ReportMetrics m;
  auto built = registry.counter("mtastsd_tlsrpt_reports_built_total",
                                "TLS-RPT reports built and stored (each sent to every rua destination)");
  if (!built) return Unexpected{std::move(built).error()};
  m.built = *built;
  const char* const schemes[] = {"mailto", "https"};
  for (std::size_t i = 0; i < m.schemes.size(); ++i) {
    const metrics::Labels scheme{{"scheme", schemes[i]}};
    auto delivered = registry.counter("mtastsd_tlsrpt_reports_delivered_total",
                                      "TLS-RPT reports delivered (sendmail accepted, HTTPS 2xx), by rua scheme",
                                      scheme);
    if (!delivered) return Unexpected{std::move(delivered).error()};
    auto failed = registry.counter("mtastsd_tlsrpt_report_attempts_failed_total",
                                   "TLS-RPT report delivery attempts that failed (retried, or the last one "
                                   "before giving up), by rua scheme",
                                   scheme);
    if (!failed) return Unexpected{std::move(failed).error()};
    auto given_up = registry.counter("mtastsd_tlsrpt_reports_given_up_total",
                                     "TLS-RPT report destinations given up (retry window over, or a mail that "
                                     "cannot be composed), by rua scheme",
                                     scheme);
    if (!given_up) return Unexpected{std::move(given_up).error()};
    m.schemes[i] = PerScheme{*delivered, *failed, *given_up};
  }
  auto pending = registry.gauge("mtastsd_tlsrpt_report_destinations_pending",
                                "TLS-RPT report deliveries and record lookups still open (due, waiting for a "
                                "retry, or being sent), as of the sender's last scan of its state");
  if (!pending) return Unexpected{std::move(pending).error()};
  m.pending = *pending;
  return m;
}

}  // namespace mtasts::tlsrpt
