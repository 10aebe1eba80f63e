#include "daemon/commands.hpp"

#include "common/clock.hpp"
#include "common/log.hpp"
#include "daemon/cache_command.hpp"
#include "daemon/check_domain_command.hpp"
#include "daemon/cli.hpp"
#include "daemon/components.hpp"
#include "daemon/config.hpp"
#include "daemon/policy_component.hpp"
#include "daemon/privileges.hpp"
#include "daemon/query_command.hpp"
#include "daemon/report_command.hpp"
#include "daemon/report_component.hpp"
#include "daemon/runtime.hpp"
#include "daemon/version_info.hpp"
#include "net/signals.hpp"
#include "tlsrpt/status_command.hpp"
#include "tlsrpt/read_reports_command.hpp"

#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

namespace mtasts::daemon {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("main");
  return logger;
}

Result<Settings> loadSettings(const CommandLine& cli, std::vector<std::string>& errors) {
  auto text = readConfigFile(cli.config_path, cli.config_path_given);
  if (!text) {
    errors.push_back(text.error().detail);
    return Unexpected{std::move(text).error()};
  }
  return parseConfig(*text, cli.config_path, cli.overrides, errors);
}

// -v raises the level to debug (never lowers a configured trace).
void applyLogLevel(const Settings& settings, bool verbose) {
  const std::string& level = settings.process.log_level;
  const bool keep = !verbose || level == "trace" || level == "debug";
  setLogLevel(keep ? level : "debug");
}

Result<void> ensureStateDir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    if (::chmod(dir.c_str(), 0750) != 0)
      return fail(ErrorCode::Io, fmt::format("state_dir {}: chmod: {}", dir, std::strerror(errno)));
  } else if (ec) {
    return fail(ErrorCode::Io, fmt::format("state_dir {}: cannot create: {}", dir, ec.message()));
  }
  // access() says yes to root for anything; creating a file is the real test.
  std::string probe = dir + "/.mtastsd-write-test.XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0) return fail(ErrorCode::Io, fmt::format("state_dir {}: not writable: {}", dir, std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

// The privilege plan for the daemon; on refusal logs why and returns the exit code.
std::optional<int> planOrExit(const Settings& settings, RunOptions& options) {
  if (!settings.process.user.empty()) {
    auto ids = lookupUser(settings.process.user);
    if (ids) {
      options.target = std::move(*ids);
    } else if (ids.error().code != ErrorCode::NotFound) {
      log()->critical("cannot look the user up error={}", escapeForLog(ids.error().detail));
      return ExitOsError;
    }
  }
  options.privileges = planPrivileges(::geteuid(), settings.process.user, options.target, settings.process.allow_root);
  if (options.privileges.action == PrivilegeAction::Refuse) {
    log()->critical("{}", options.privileges.message);
    return ExitConfig;
  }
  if (!options.privileges.message.empty()) log()->warn("{}", options.privileges.message);
  return std::nullopt;
}

// The daemon: privileges planned and state_dir checked first (as root), then the Runtime
// with its components (components.cpp) runs until a stop signal.
int runDaemon(const CommandLine& cli, const Settings& settings) {
  RunOptions options;
  if (auto code = planOrExit(settings, options)) return *code;
  if (auto ok = ensureStateDir(settings.store.state_dir); !ok) {
    log()->critical("cannot use state directory error={}", escapeForLog(ok.error().detail));
    return ExitCantCreate;
  }
  auto runtime = Runtime::create(settings);
  if (!runtime) {
    log()->critical("cannot start the resolver error={}", escapeForLog(runtime.error().detail, 400));
    return ExitConfig;
  }
  addComponents(**runtime, settings);
  options.reload_settings = [cli](std::vector<std::string>& errors) { return loadSettings(cli, errors); };
  options.apply_log_level = [verbose = cli.verbose](const Settings& s) { applyLogLevel(s, verbose); };
  return (*runtime)->run(settings, std::move(options));
}

int runCheckConfig(const CommandLine&, const Settings& settings) {
  std::cout << formatSettings(settings) << reportingStatus(settings.tlsrpt);
  return 0;
}

// --query: the configured DNS and CA, no cache, one live lookup. Logs stay at warn so
// that stdout carries the report alone.
int runQueryCommand(const CommandLine& cli, const Settings& settings) {
  if (!cli.verbose) setLogLevel("warn");
  auto runtime = Runtime::create(settings);
  if (!runtime) {
    std::cerr << "mtastsd: " << runtime.error().detail << "\n";
    return ExitConfig;
  }
  policy::PolicyResolver resolver((*runtime)->dns(), (*runtime)->https(), resolverOptions(settings.policy));
  QueryFormat format;
  const policy::PolicyServiceOptions service = policyServiceOptions(settings.policy, settings.dane, resolver.daneCapable());
  format.dane = service.dane;
  format.dane_without_sts = service.dane_without_sts;
  format.dane_mode = settings.dane.dnssec_trust_ad ? "trust-ad" : "validate";
  if (settings.dane.dane == DaneMode::Off) {
    format.dane_off_reason = "dane = off";
  } else if (!resolver.daneCapable()) {
    format.dane_off_reason = "the resolver's AD bit is not trusted: it is not on loopback";
  }
  const QueryReport report = runQuery((*runtime)->base(), resolver, cli.domain, format.dane);
  format.json = cli.json;
  format.strict_testing = settings.policy.strict_testing;
  format.max_reply_size = settings.server.max_reply_size;
  if (!settings.server.tlsrpt_map_names.empty()) format.tlsrpt_map = settings.server.tlsrpt_map_names.front();
  std::cout << formatQueryReport(report, format);
  return queryExitCode(report);
}

// --dump, --purge, --purge-all: run as root they would leave root-owned LMDB files the
// daemon user cannot open, so they become the owner of state_dir first.
int runCacheCommand(const CommandLine& cli, const Settings& settings) {
  const std::string& dir = settings.store.state_dir;
  if (auto ok = switchToOwnerOf(dir); !ok) {
    std::cerr << "mtastsd: " << ok.error().detail << "\n";
    return ExitOsError;
  }
  if (cli.command == Command::Dump) return runDump(dir, cli.json);
  return runPurge(dir, cli.domain, cli.command == Command::PurgeAll);
}

// --tlsrpt-status: read-only beside a running daemon; as root it becomes the owner of
// state_dir first, like --dump (a root-owned lock file would lock the daemon out).
int runTlsrptStatus(const CommandLine& cli, const Settings& settings) {
  const std::string& dir = settings.store.state_dir;
  if (auto ok = switchToOwnerOf(dir); !ok) {
    std::cerr << "mtastsd: " << ok.error().detail << "\n";
    return ExitOsError;
  }
  std::optional<tlsrpt::UtcDay> day;
  if (!cli.day.empty()) {
    auto parsed = tlsrpt::parseUtcDay(cli.day);
    if (!parsed) {
      std::cerr << "mtastsd: --day: " << parsed.error().detail << "\n";
      return ExitUsage;
    }
    day = *parsed;
  }
  auto report = tlsrpt::tlsrptStatusReport(dir, day, cli.json);
  if (!report) {
    std::cerr << "mtastsd: cannot read the TLS-RPT counts: " << report.error().detail << "\n";
    return ExitCantCreate;
  }
  std::cout << *report;
  return 0;
}

// --read-reports: no configuration and no network; its own arguments (after the flag).
int runReadReportsCommand(const CommandLine& cli, const Settings&) {
  auto options = tlsrpt::parseReadReportsArguments(cli.command_args, SystemClock().now());
  if (!options) {
    std::cerr << "mtastsd: " << options.error().detail << "\n";
    return ExitUsage;
  }
  return tlsrpt::runReadReports(*options, std::cout, std::cerr);
}

int runHelp(const CommandLine&, const Settings&) {
  std::cout << usageText();
  return 0;
}

int runVersion(const CommandLine&, const Settings&) {
  std::cout << versionText();
  return 0;
}

int runConfigTableRoff(const CommandLine&, const Settings&) {
  std::cout << configTableRoff();
  return 0;
}

struct CommandRow {
  Command command;
  bool needs_settings;  // loaded (errors: exit 78) before the command runs
  bool sets_log_level;  // the configured log_level (and -v) applies to it
  int (*run)(const CommandLine&, const Settings&);
};

// The one dispatch table: a new command is one row.
constexpr CommandRow Commands[] = {
    {Command::Run, true, true, runDaemon},
    {Command::CheckConfig, true, false, runCheckConfig},
    {Command::Query, true, true, runQueryCommand},
    {Command::Dump, true, true, runCacheCommand},
    {Command::Purge, true, true, runCacheCommand},
    {Command::PurgeAll, true, true, runCacheCommand},
    {Command::Version, false, false, runVersion},
    {Command::Help, false, false, runHelp},
    {Command::PrintConfigTableRoff, false, false, runConfigTableRoff},
    {Command::TlsrptStatus, true, true, runTlsrptStatus},
    {Command::CheckDomain, true, true, runCheckDomainCommand},
    {Command::ReadReports, false, false, runReadReportsCommand},
    {Command::Report, true, true, runReportCommand},
};

}  // namespace

int runCommandLine(const std::vector<std::string>& args) {
  auto cli = parseCommandLine(args);
  if (!cli) {
    std::cerr << "mtastsd: " << cli.error().detail << "\n" << usageText();
    return ExitUsage;
  }
  // Only the daemon holds its signals through start-up; a command is interrupted the
  // ordinary way (Ctrl-C on a slow --query).
  if (cli->command != Command::Run) net::releaseSignals();
  for (const auto& row : Commands) {
    if (row.command != cli->command) continue;
    Settings settings;
    if (row.needs_settings) {
      std::vector<std::string> errors;
      auto loaded = loadSettings(*cli, errors);
      if (!loaded) {
        for (const auto& e : errors) std::cerr << "mtastsd: " << e << "\n";
        return ExitConfig;
      }
      settings = std::move(*loaded);
      if (row.sets_log_level) applyLogLevel(settings, cli->verbose);
    }
    return row.run(*cli, settings);
  }
  std::cerr << "mtastsd: command not implemented\n";
  return ExitUsage;
}

}  // namespace mtasts::daemon
