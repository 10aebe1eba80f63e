// mtastsd entry point. Holds SIGTERM/SIGINT/SIGHUP from the first line, so that a stop during
// start-up ends in a clean exit instead of death by signal (net/signals.hpp), then hands the
// arguments to the one command dispatch (commands.hpp). Everything else lives in the
// libraries; an exception that escapes is a fatal error with exit 71 (EX_OSERR).
#include "daemon/cli.hpp"
#include "daemon/commands.hpp"
#include "net/signals.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  mtasts::net::holdSignals();
  try {
    return mtasts::daemon::runCommandLine(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mtastsd: fatal: %s\n", e.what());
    return mtasts::daemon::ExitOsError;
  }
}
