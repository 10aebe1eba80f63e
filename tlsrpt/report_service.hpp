// ReportService: TLS-RPT reporting in one process, around the ReportSender (report_sender.hpp):
// owns the worker thread the store jobs run on, the sendmail runner, the day store and the
// report-state store on the process's LMDB env, and the sender. The daemon starts it after
// the privilege drop and stops it at SIGTERM; `mtastsd --report` makes one and runs one
// manual run. Loop thread; its own settings checks are pure functions. Errors of start() are
// Results (the daemon logs them and keeps answering Postfix: reporting never defers mail).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/lmdb_env.hpp"
#include "common/result.hpp"
#include "net/child_process.hpp"
#include "net/worker_thread.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/report_mailer.hpp"
#include "tlsrpt/report_sender.hpp"
#include "tlsrpt/report_state_store.hpp"

struct event_base;

namespace mtasts::tlsrpt {

// The report keys as written in the configuration.
struct ReportKeys {
  std::string organization_name;
  std::string contact_info;
  std::string report_from;
  std::vector<std::string> dkim_key;
  std::vector<std::string> dkim_selector;
  std::string dkim_domain;
};

// Empty when organization-name text is usable (printable UTF-8 without control characters).
std::string reportTextProblem(std::string_view text);
// What reporting still needs, one sentence each; empty = reporting is enabled. Pure.
std::vector<std::string> reportingMissing(const ReportKeys& keys);
// Whether any report key is set (then missing ones are worth a warning).
bool reportingConfigured(const ReportKeys& keys);
// The identity of the reports: contact-info's domain, lower case, is the submitter.
Result<ReporterIdentity> reporterIdentity(const ReportKeys& keys);
// The mail identity with the DKIM keys read from their files (as root, before the drop).
Result<MailIdentity> mailIdentity(const ReportKeys& keys);

struct ReportServiceOptions {
  ReportSenderOptions sender;
  std::string sendmail{DefaultSendmailCommand};
  std::chrono::milliseconds sendmail_timeout{60'000};
};

struct ReportServiceDeps {
  event_base* base;
  const Clock& clock;
  Scheduler& scheduler;
  net::DnsClient& dns;
  net::HttpsClient& https;
};

class ReportService {
 public:
  ReportService(ReportServiceDeps deps, ReportServiceOptions options);
  ~ReportService();
  ReportService(const ReportService&) = delete;
  ReportService& operator=(const ReportService&) = delete;

  // Attaches the stores to env (read_only: a dry run beside the daemon; the report state may
  // be missing then) and starts the worker thread; daemon mode also starts the sender.
  Result<void> attach(std::shared_ptr<cache::LmdbEnv> env, bool read_only);
  void startDaemon();
  void runManual(ManualRun run, std::function<void(RunSummary)> done);
  // Takes no new work, waits up to `bound` for deliveries in flight, then `done`.
  void stop(std::chrono::milliseconds bound, std::function<void()> done);

  const ReportSender* sender() const { return sender_.get(); }

 private:
  ReportServiceDeps deps_;
  ReportServiceOptions options_;
  std::unique_ptr<net::WorkerThread> worker_;
  std::unique_ptr<net::ChildProcessRunner> children_;
  std::unique_ptr<SendmailMailSender> mail_;
  std::unique_ptr<DayStore> days_;
  std::unique_ptr<ReportStateStore> state_;
  std::unique_ptr<ReportSender> sender_;
};

}  // namespace mtasts::tlsrpt
