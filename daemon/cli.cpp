#include "daemon/cli.hpp"

#include "tlsrpt/utc_day.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstddef>

namespace mtasts::daemon {

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args) {
  CommandLine out;
  // Flags first, the command after: --help and --version win over anything, the
  // commands that act exclude each other.
  bool help = false;
  bool version = false;
  bool roff = false;
  std::vector<Command> acting;
  std::string query_domain;
  std::string purge_domain;
  std::string check_domain;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // -c FILE / -cFILE, -o key=value / -okey=value, like Postfix daemons.
    auto value = [&](const char* flag) -> Result<std::string> {
      if (arg.size() > 2) return arg.substr(2);
      if (i + 1 >= args.size()) return fail(ErrorCode::InvalidInput, fmt::format("option {} needs a value", flag));
      return args[++i];
    };
    if (arg.starts_with("-c")) {
      auto v = value("-c");
      if (!v) return Unexpected{std::move(v).error()};
      out.config_path = *v;
      out.config_path_given = true;
    } else if (arg.starts_with("-o")) {
      auto v = value("-o");
      if (!v) return Unexpected{std::move(v).error()};
      out.overrides.push_back(*v);
    } else if (arg == "-v") {
      out.verbose = true;
    } else if (arg == "--check-config") {
      acting.push_back(Command::CheckConfig);
    } else if (arg == "--version") {
      version = true;
    } else if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--query" || arg == "--purge" || arg == "--check-domain") {
      if (i + 1 >= args.size()) return fail(ErrorCode::InvalidInput, fmt::format("option {} needs a domain", arg));
      (arg == "--query" ? query_domain : arg == "--purge" ? purge_domain : check_domain) = args[++i];
    } else if (arg == "--no-smtp") {
      out.no_smtp = true;
    } else if (arg == "--read-reports") {
      // Its own options and paths follow (a path may look like anything): they are its.
      acting.push_back(Command::ReadReports);
      if (out.json) out.command_args.push_back("--json");
      out.command_args.insert(out.command_args.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    } else if (arg == "--json") {
      out.json = true;
    } else if (arg == "--dump") {
      acting.push_back(Command::Dump);
    } else if (arg == "--purge-all") {
      acting.push_back(Command::PurgeAll);
    } else if (arg == "--tlsrpt-status") {
      acting.push_back(Command::TlsrptStatus);
    } else if (arg == "--day") {
      if (i + 1 >= args.size()) return fail(ErrorCode::InvalidInput, "option --day needs a date (YYYY-MM-DD)");
      out.day = args[++i];
      if (auto day = tlsrpt::parseUtcDay(out.day); !day)
        return fail(ErrorCode::InvalidInput, fmt::format("--day: {}", day.error().detail));
    } else if (arg == "--print-config-table-roff") {
      roff = true;
    } else {
      return fail(ErrorCode::InvalidInput, fmt::format("unknown argument \"{}\"", arg));
    }
  }
  // A repeated flag is one command, as before: only different commands conflict.
  if (!query_domain.empty()) acting.push_back(Command::Query);
  if (!purge_domain.empty()) acting.push_back(Command::Purge);
  if (!check_domain.empty()) acting.push_back(Command::CheckDomain);
  std::sort(acting.begin(), acting.end());
  acting.erase(std::unique(acting.begin(), acting.end()), acting.end());
  if (acting.size() > 1) {
    return fail(ErrorCode::InvalidInput,
                "--check-config, --query, --dump, --purge, --purge-all, --tlsrpt-status, --check-domain and "
                "--read-reports exclude each other");
  }
  const Command acts = acting.empty() ? Command::Run : acting.front();
  const bool lists = acts == Command::Query || acts == Command::Dump || acts == Command::TlsrptStatus ||
                     acts == Command::CheckDomain || acts == Command::ReadReports;
  if (out.json && !lists) {
    return fail(ErrorCode::InvalidInput,
                "--json goes with --query, --dump, --tlsrpt-status, --check-domain or --read-reports");
  }
  if (!out.day.empty() && acts != Command::TlsrptStatus) {
    return fail(ErrorCode::InvalidInput, "--day goes with --tlsrpt-status");
  }
  if (out.no_smtp && acts != Command::CheckDomain) {
    return fail(ErrorCode::InvalidInput, "--no-smtp goes with --check-domain");
  }
  out.domain = !query_domain.empty() ? query_domain : !purge_domain.empty() ? purge_domain : check_domain;
  if (help) {
    out.command = Command::Help;
  } else if (version) {
    out.command = Command::Version;
  } else if (roff) {
    out.command = Command::PrintConfigTableRoff;
  } else if (!acting.empty()) {
    out.command = acting.front();
  }
  return out;
}

std::string usageText() {
  return fmt::format(
      "usage: mtastsd [-c FILE] [-o key=value]... [-v]\n"
      "       mtastsd [-c FILE] [-o key=value]... --check-config | --query DOMAIN [--json]\n"
      "       mtastsd [-c FILE] [-o key=value]... --dump [--json] | --purge DOMAIN | --purge-all\n"
      "       mtastsd [-c FILE] [-o key=value]... --tlsrpt-status [--day YYYY-MM-DD] [--json]\n"
      "       mtastsd [-c FILE] [-o key=value]... --check-domain DOMAIN [--json] [--no-smtp]\n"
      "       mtastsd --read-reports [--json] [--since DAYS] PATH...\n"
      "  -c FILE         configuration file (default {})\n"
      "  -o key=value    override a configuration key (repeatable, applied after the file)\n"
      "  -v              log at debug level\n"
      "  --check-config  print the effective settings and exit (78 on errors)\n"
      "  --query DOMAIN  look DOMAIN's policy up live (no cache), print the TXT record, the\n"
      "                  policy and each map's verdict; exit 0 policy, 1 none, 2 failure\n"
      "  --dump          list the policy cache in state_dir (safe while the daemon runs)\n"
      "  --purge DOMAIN  delete DOMAIN from the cache; --purge-all deletes every entry\n"
      "  --tlsrpt-status TLS-RPT sessions counted per day, domain and policy, and the collector's\n"
      "                  counters (safe while the daemon runs); --day one UTC day only\n"
      "  --check-domain DOMAIN  check DOMAIN's own MTA-STS and TLSRPT publication and its MX\n"
      "                  hosts (STARTTLS on port 25 unless --no-smtp); exit 0 ready for\n"
      "                  enforce, 1 testing only, 2 not ready\n"
      "  --read-reports PATH...  read the TLS reports a domain received (.json, .json.gz, mails,\n"
      "                  mbox, Maildir); --since DAYS; exit 0 all read, 1 some skipped, 2 none\n"
      "  --json          JSON output for --query, --dump, --tlsrpt-status, --check-domain\n"
      "                  and --read-reports\n"
      "  --version       print the version and exit\n"
      "See mtastsd(8) and mtastsd.conf(5).\n",
      DefaultConfigPath);
}

}  // namespace mtasts::daemon
