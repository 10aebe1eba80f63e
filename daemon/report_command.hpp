// `mtastsd --report [--day YYYY-MM-DD] [--domain D] [--dry-run --out DIR]`: one manual run of
// the report sender (tlsrpt/report_service.hpp) beside a running daemon or without one: it
// becomes the owner of state_dir (root would leave root-owned LMDB files), opens the env
// (read-only for a dry run), builds the day's reports not yet stored and tries every open
// destination once now, then prints one line per report and destination. Exit 0 when
// nothing failed, 1 when a delivery or build failed, 78/73/71 for configuration, store and
// system errors. Main thread, its own event loop.
#pragma once

#include "daemon/cli.hpp"
#include "daemon/settings.hpp"

namespace mtasts::daemon {

int runReportCommand(const CommandLine& cli, const Settings& settings);

}  // namespace mtasts::daemon
