// Command line of mtastsd: parsed into a plain CommandLine value (pure, no I/O), so tests
// and main() share one parser: one Command plus its arguments. Errors are a Result with a
// message for the usage line.
// Exit codes follow sysexits.h: 64 usage, 78 config, 73 cannot create, 71 OS error.
#pragma once

#include "common/result.hpp"

#include <string>
#include <vector>

namespace mtasts::daemon {

inline constexpr const char* DefaultConfigPath = "/etc/mtastsd/mtastsd.conf";
inline constexpr int ExitUsage = 64;      // EX_USAGE
inline constexpr int ExitOsError = 71;    // EX_OSERR
inline constexpr int ExitCantCreate = 73; // EX_CANTCREAT
inline constexpr int ExitConfig = 78;     // EX_CONFIG

// What the invocation asks for: one command. A new command is one value here, its flag in
// cli.cpp and one row in the dispatch table (commands.cpp).
enum class Command {
  Run,                   // the daemon (no command flag)
  CheckConfig,           // --check-config
  Query,                 // --query DOMAIN
  Dump,                  // --dump
  Purge,                 // --purge DOMAIN
  PurgeAll,              // --purge-all
  Version,               // --version
  Help,                  // --help, -h
  PrintConfigTableRoff,  // hidden: regenerates the man page key list
  TlsrptStatus,          // --tlsrpt-status [--day YYYY-MM-DD]
  CheckDomain,           // --check-domain DOMAIN [--json] [--no-smtp]
  ReadReports,           // --read-reports [--json] [--since DAYS] PATH...
};

struct CommandLine {
  Command command = Command::Run;
  std::string config_path = DefaultConfigPath;
  bool config_path_given = false;   // a missing -c file is an error, a missing default is not
  std::vector<std::string> overrides;  // "key=value" from -o, in order
  bool verbose = false;
  std::string domain;  // --query DOMAIN, --purge DOMAIN, --check-domain DOMAIN
  bool json = false;   // --json: machine-readable --query / --dump / --tlsrpt-status / --check-domain output
  std::string day;     // --day YYYY-MM-DD (--tlsrpt-status), checked to be a date
  bool no_smtp = false;  // --no-smtp: --check-domain without the MX hosts' SMTP probes
  // --read-reports: every argument after it (its own options and paths, parsed by
  // tlsrpt/read_reports_command.hpp), with "--json" first when it was given before it.
  std::vector<std::string> command_args;
};

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args);  // without argv[0]
std::string usageText();

}  // namespace mtasts::daemon
