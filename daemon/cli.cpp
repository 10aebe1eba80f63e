#include "daemon/cli.hpp"

#include <spdlog/fmt/fmt.h>

namespace mtasts::daemon {

Result<CommandLine> parseCommandLine(const std::vector<std::string>& args) {
  CommandLine out;
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
      out.check_config = true;
    } else if (arg == "--version") {
      out.version = true;
    } else if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--print-config-table-roff") {
      out.print_config_table_roff = true;
    } else {
      return fail(ErrorCode::InvalidInput, fmt::format("unknown argument \"{}\"", arg));
    }
  }
  return out;
}

std::string usageText() {
  return fmt::format(
      "usage: mtastsd [-c FILE] [-o key=value]... [-v] [--check-config] [--version] [--help]\n"
      "  -c FILE         configuration file (default {})\n"
      "  -o key=value    override a configuration key (repeatable, applied after the file)\n"
      "  -v              log at debug level\n"
      "  --check-config  print the effective settings and exit (78 on errors)\n"
      "  --version       print the version and exit\n"
      "See mtastsd(8) and mtastsd.conf(5).\n",
      DefaultConfigPath);
}

}  // namespace mtasts::daemon
