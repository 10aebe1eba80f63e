// Test driver of `mtastsd --read-reports` until the CLI dispatch calls it: the same entry
// point with the arguments that follow --read-reports, and a fixed clock so --since and the
// golden outputs do not depend on the day the tests run. Not installed.
//   read_reports_tool [--now UNIX_SECONDS] [--json] [--since DAYS] PATH...
// Exit status: runReadReports()'s (0, 1, 2), or 64 for a usage error.
#include <charconv>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "tlsrpt/read_reports_command.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  mtasts::UnixSeconds now = std::time(nullptr);
  if (args.size() >= 2 && args[0] == "--now") {
    const std::string& text = args[1];
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), now);
    if (ec != std::errc() || end != text.data() + text.size()) {
      std::cerr << "read_reports_tool: --now needs Unix seconds\n";
      return 64;
    }
    args.erase(args.begin(), args.begin() + 2);
  }
  auto options = mtasts::tlsrpt::parseReadReportsArguments(args, now);
  if (!options) {
    std::cerr << options.error().detail << '\n';
    return 64;
  }
  return mtasts::tlsrpt::runReadReports(*options, std::cout, std::cerr);
}
