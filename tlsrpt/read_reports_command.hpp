// `mtastsd --read-reports [--json] [--since DAYS] PATH...`: reads the RFC 8460 reports a
// domain received (files, mails, mboxes, Maildirs), prints them summed per reporting
// organization and UTC day on `out`, and one line per input not read on `err` as it goes.
// The CLI dispatch calls runReadReports(); "now" is injected so --since is testable.
// Synchronous, single-threaded, no event loop, no configuration file, no network.
// Exit status: 0 every report input read (unrelated mails and files ignored), 1 some input
// skipped as damaged or invalid but at least one report read, 2 no report read at all.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/report_input_files.hpp"

namespace mtasts::tlsrpt {

inline constexpr int ReadReportsAllRead = 0;
inline constexpr int ReadReportsSomeSkipped = 1;
inline constexpr int ReadReportsNothingUsable = 2;

inline constexpr unsigned MaxSinceDays = 36500;

struct ReadReportsOptions {
  std::vector<std::string> paths;  // at least one
  bool json = false;               // --json
  std::optional<unsigned> since_days;  // --since DAYS: date range ending on or after 00:00
                                       // UTC of the day DAYS days before today (0 = today)
  UnixSeconds now = 0;             // the clock's now (Clock::now()), for --since
  InputLimits limits;              // defaults: 64 MiB per file or mail, 16 MiB of JSON
};

// The arguments after --read-reports: --json, --since DAYS (0 to 36500), "--" to end the
// options, PATH... (at least one). InvalidInput with a usage message otherwise.
Result<ReadReportsOptions> parseReadReportsArguments(const std::vector<std::string>& args, UnixSeconds now);

int runReadReports(const ReadReportsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mtasts::tlsrpt
