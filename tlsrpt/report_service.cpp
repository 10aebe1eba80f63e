#include "tlsrpt/report_service.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/addr_spec.hpp"

namespace mtasts::tlsrpt {
namespace {

std::string domainOf(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : toLowerAscii(address.substr(at + 1));
}

}  // namespace

std::string reportTextProblem(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
  }
  // Not ASCII: it must at least be UTF-8 (it goes into JSON and the mail's text part).
  std::size_t i = 0;
  while (i < text.size()) {
    const auto u = static_cast<unsigned char>(text[i]);
    const std::size_t n = u < 0x80 ? 1 : (u >> 5) == 6 ? 2 : (u >> 4) == 14 ? 3 : (u >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > text.size()) return "is not UTF-8";
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return "is not UTF-8";
    i += n;
  }
  return {};
}

bool reportingConfigured(const ReportKeys& k) {
  return !k.organization_name.empty() || !k.contact_info.empty() || !k.report_from.empty();
}

std::vector<std::string> reportingMissing(const ReportKeys& k) {
  std::vector<std::string> out;
  if (k.organization_name.empty()) out.emplace_back("tlsrpt_organization_name is not set (the reports' organization-name)");
  if (k.contact_info.empty()) out.emplace_back("tlsrpt_contact_info is not set (an address; its domain is the submitter)");
  if (k.report_from.empty()) out.emplace_back("tlsrpt_report_from is not set (From of the report mails)");
  if (k.dkim_key.size() != k.dkim_selector.size())
    out.emplace_back(fmt::format("tlsrpt_dkim_key names {} keys but tlsrpt_dkim_selector {} selectors",
                                 k.dkim_key.size(), k.dkim_selector.size()));
  return out;
}

Result<ReporterIdentity> reporterIdentity(const ReportKeys& k) {
  if (auto problem = addrSpecProblem(k.contact_info); !problem.empty())
    return fail(ErrorCode::InvalidInput, "tlsrpt_contact_info: " + problem);
  ReporterIdentity who;
  who.organization_name = k.organization_name;
  who.contact_info = k.contact_info;
  who.submitter = domainOf(k.contact_info);
  return who;
}

Result<MailIdentity> mailIdentity(const ReportKeys& k) {
  MailIdentity m;
  m.from = k.report_from;
  m.organization_name = k.organization_name;
  m.dkim_domain = k.dkim_domain.empty() ? domainOf(k.contact_info) : toLowerAscii(k.dkim_domain);
  if (k.dkim_key.size() != k.dkim_selector.size())
    return fail(ErrorCode::InvalidInput, "tlsrpt_dkim_key and tlsrpt_dkim_selector differ in length");
  for (std::size_t i = 0; i < k.dkim_key.size(); ++i) {
    auto key = DkimKey::fromPemFile(k.dkim_key[i]);
    if (!key) return fail(key.error().code, fmt::format("tlsrpt_dkim_key {}: {}", k.dkim_key[i], key.error().detail));
    m.signers.push_back(DkimSigner{std::make_shared<const DkimKey>(std::move(*key)), k.dkim_selector[i]});
  }
  return m;
}

ReportService::ReportService(ReportServiceDeps deps, ReportServiceOptions options)
    : deps_(deps), options_(std::move(options)) {}

ReportService::~ReportService() {
  sender_.reset();                // no completion of it runs any more
  if (worker_) worker_->stop();   // queued store work finishes before the stores go
  mail_.reset();
  children_.reset();              // kills a sendmail still running
  state_.reset();
  days_.reset();
}

Result<void> ReportService::attach(std::shared_ptr<cache::LmdbEnv> env, bool read_only) {
  auto days = DayStore::attach(env);
  if (!days) return Unexpected{std::move(days).error()};
  days_ = std::move(*days);
  auto state = ReportStateStore::attach(env);
  if (state) {
    state_ = std::move(*state);
  } else if (!(read_only && state.error().code == ErrorCode::NotFound)) {
    return Unexpected{std::move(state).error()};
  }
  auto worker = net::WorkerThread::create(deps_.base, "mtasts-report");
  if (!worker) return Unexpected{std::move(worker).error()};
  worker_ = std::move(*worker);
  children_ = std::make_unique<net::ChildProcessRunner>(deps_.base);
  mail_ = std::make_unique<SendmailMailSender>(*children_, options_.sendmail, options_.sendmail_timeout);
  sender_ = std::make_unique<ReportSender>(
      ReportSenderDeps{deps_.clock, deps_.scheduler, *worker_, deps_.dns, deps_.https, *mail_, *days_, state_.get()},
      options_.sender);
  return {};
}

void ReportService::startDaemon() {
  if (sender_ && state_) sender_->start();
}

void ReportService::runManual(ManualRun run, std::function<void(RunSummary)> done) {
  if (!sender_) {
    RunSummary s;
    s.errors = 1;
    s.lines.emplace_back("the stores are not open");
    done(std::move(s));
    return;
  }
  sender_->runManual(std::move(run), std::move(done));
}

void ReportService::stop(std::chrono::milliseconds bound, std::function<void()> done) {
  if (!sender_) {
    done();
    return;
  }
  sender_->stop(bound, std::move(done));
}

}  // namespace mtasts::tlsrpt
