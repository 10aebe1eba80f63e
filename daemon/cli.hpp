// Command line of mtastsd: parsed into a plain CommandLine value (pure, no I/O), so tests
// and main() share one parser. Errors are a Result with a message for the usage line.
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

struct CommandLine {
  std::string config_path = DefaultConfigPath;
  bool config_path_given = false;   // a missing -c file is an error, a missing default is not
  std::vector<std::string> overrides;  // "key=value" from -o, in order
  bool verbose = false;
  bool check_config = false;
  bool version = false;
  bool help = false;
  bool print_config_table_roff = false;  // hidden: regenerates the man page key list
  std::string query_domain;   // --query DOMAIN: live lookup, no cache
  bool json = false;          // --json: machine-readable --query / --dump output
  bool dump = false;          // --dump: list the cache
  std::string purge_domain;   // --purge DOMAIN
  bool purge_all = false;     // --purge-all
};

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args);  // without argv[0]
std::string usageText();

}  // namespace mtasts::daemon
