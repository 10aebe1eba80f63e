#include "daemon/report_component.hpp"

#include "common/log.hpp"
#include "daemon/runtime.hpp"

#include <spdlog/fmt/fmt.h>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("tlsrpt");
  return logger;
}

UnixSeconds seconds(Ms ms) { return std::chrono::duration_cast<std::chrono::seconds>(ms).count(); }

constexpr std::chrono::milliseconds DrainBound{5'000};

}  // namespace

tlsrpt::ReportKeys reportKeys(const TlsRptSettings& s) {
  return tlsrpt::ReportKeys{s.organization_name, s.contact_info, s.report_from,
                            s.dkim_key,          s.dkim_selector, s.dkim_domain};
}

Result<tlsrpt::ReportServiceOptions> reportServiceOptions(const TlsRptSettings& s) {
  const auto keys = reportKeys(s);
  auto who = tlsrpt::reporterIdentity(keys);
  if (!who) return Unexpected{std::move(who).error()};
  auto mail = tlsrpt::mailIdentity(keys);
  if (!mail) return Unexpected{std::move(mail).error()};
  tlsrpt::ReportServiceOptions o;
  o.sender.identity = std::move(*who);
  o.sender.mail = std::move(*mail);
  o.sender.max_delay = seconds(s.report_delay);
  o.sender.retry.window = seconds(s.report_retry);
  o.sender.retry.first_interval = std::max<UnixSeconds>(1, seconds(s.report_retry_interval));
  o.sender.retry.max_interval = std::max(o.sender.retry.first_interval, o.sender.retry.max_interval);
  o.sender.keep_state_days = static_cast<int>(s.keep_days) + 1;
  o.sendmail = s.sendmail;
  o.sendmail_timeout = s.sendmail_timeout;
  return o;
}

std::string reportingStatus(const TlsRptSettings& s) {
  const auto missing = tlsrpt::reportingMissing(reportKeys(s));
  if (missing.empty()) {
    auto options = reportServiceOptions(s);
    if (!options) return fmt::format("# TLS-RPT reports: not sent: {}\n", options.error().detail);
    return fmt::format("# TLS-RPT reports: sent, submitter {}, {}\n", options->sender.identity.submitter,
                       s.dkim_key.empty() ? "the MTA's DKIM signer must sign them (key record s=email:tlsrpt)"
                                          : "DKIM-signed by mtastsd");
  }
  std::string out = "# TLS-RPT reports: not sent; missing:\n";
  for (const auto& m : missing) out += "#   " + m + "\n";
  return out;
}

ReportComponent::ReportComponent(Runtime& runtime, const TlsRptSettings& settings) : runtime_(runtime) {
  const auto keys = reportKeys(settings);
  if (!tlsrpt::reportingConfigured(keys)) return;
  if (const auto missing = tlsrpt::reportingMissing(keys); !missing.empty()) {
    for (const auto& m : missing) log()->warn("TLS-RPT reports off: {}", m);
    return;
  }
  auto options = reportServiceOptions(settings);
  if (!options) {
    log()->error("TLS-RPT reports off error={}", escapeForLog(options.error().detail, 400));
    return;
  }
  options_ = std::move(*options);
}

ReportComponent::~ReportComponent() = default;

Result<void> ReportComponent::start() {
  if (!options_) return {};
  if (runtime_.metricsEnabled()) {  // else nothing scrapes them: the sender counts into nowhere
    auto metrics = tlsrpt::ReportMetrics::create(runtime_.metrics());
    if (!metrics) return Unexpected{std::move(metrics).error()};  // a programming error: names are fixed
    options_->sender.metrics = *metrics;
  }
  service_ = std::make_unique<tlsrpt::ReportService>(
      tlsrpt::ReportServiceDeps{runtime_.base(), runtime_.clock(), runtime_.scheduler(), runtime_.dns(),
                                runtime_.https()},
      *options_);
  if (auto ok = service_->attach(runtime_.env(), false); !ok) {
    log()->error("TLS-RPT reports not started error={}", escapeForLog(ok.error().detail, 400));
    service_.reset();
    return {};
  }
  service_->startDaemon();
  return {};
}

void ReportComponent::drain(std::function<void()> done) {
  if (!service_) {
    done();
    return;
  }
  service_->stop(DrainBound, std::move(done));
}

std::string ReportComponent::startupFields() const {
  return service_ ? " tlsrpt_reports=" + options_->sender.identity.submitter : std::string();
}

}  // namespace mtasts::daemon
