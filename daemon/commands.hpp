// The commands of mtastsd, dispatched in one place: runCommandLine() parses the arguments,
// finds the command's row in the dispatch table (commands.cpp) and runs it. A row says
// whether the command needs the configuration and takes its log level. Only the daemon
// (Command::Run) keeps its signals held through start-up (net/signals.hpp); every other
// command gets the default actions back at once. Returns the process exit code (sysexits.h,
// see cli.hpp). Main thread.
#pragma once

#include <string>
#include <vector>

namespace mtasts::daemon {

int runCommandLine(const std::vector<std::string>& args);

}  // namespace mtasts::daemon
