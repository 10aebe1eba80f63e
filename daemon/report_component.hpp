// ReportComponent: TLS-RPT reports in the running daemon (tlsrpt/report_service.hpp holds
// the logic). The constructor reads the DKIM keys (as root, before the privilege drop);
// start() attaches the stores to the Runtime's env and starts the sender on the loop (store
// work on its worker thread, never delaying a socketmap answer); drain() lets deliveries in
// flight finish within a bound. Reads settings.tlsrpt. Off unless tlsrpt_organization_name,
// tlsrpt_contact_info and tlsrpt_report_from are set; a problem is logged, never fatal.
// Metrics (reports built, delivered / failed / given up by scheme, destinations pending) are
// registered only when metrics_listen is set and reporting is on.
#pragma once

#include "daemon/component.hpp"
#include "tlsrpt/report_service.hpp"

#include <memory>
#include <optional>
#include <string>

namespace mtasts::daemon {

class Runtime;

tlsrpt::ReportKeys reportKeys(const TlsRptSettings& settings);
// The service options of the tlsrpt section; InvalidInput/Io when a key is unusable (a DKIM
// key file that cannot be read). Only for reportingMissing() empty.
Result<tlsrpt::ReportServiceOptions> reportServiceOptions(const TlsRptSettings& settings);
// Lines for --check-config: what reporting still needs, or that it is on.
std::string reportingStatus(const TlsRptSettings& settings);

class ReportComponent final : public Component {
 public:
  ReportComponent(Runtime& runtime, const TlsRptSettings& settings);
  ~ReportComponent() override;

  std::string_view name() const override { return "tlsrpt-reports"; }
  Result<void> start() override;
  void drain(std::function<void()> done) override;
  std::string startupFields() const override;

 private:
  Runtime& runtime_;
  std::optional<tlsrpt::ReportServiceOptions> options_;  // nullopt: reporting off
  std::unique_ptr<tlsrpt::ReportService> service_;
};

}  // namespace mtasts::daemon
