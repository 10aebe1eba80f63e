#include "tlsrpt/read_reports_command.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>

#include "common/log.hpp"
#include "tlsrpt/report_digest.hpp"
#include "tlsrpt/report_digest_format.hpp"

namespace mtasts::tlsrpt {
namespace {

// Sums reports into the digest and prints one line per note as it happens.
class CommandSink final : public ReportSink {
 public:
  CommandSink(ReportDigest& digest, ReadTally& tally, std::ostream& err, bool keep_notes)
      : digest_(digest), tally_(tally), err_(err), keep_notes_(keep_notes) {}

  void report(ReceivedReport&& report, const std::string& where, std::string_view hint) override {
    if (digest_.add(report, hint) == ReportDigest::Outcome::Duplicate) {
      note(NoteKind::Duplicate, where,
           fmt::format("report-id \"{}\" of \"{}\" was read before: counted once",
                       escapeForLog(report.report_id, 120), escapeForLog(report.organization_name, 120)));
    }
  }

  void note(NoteKind kind, const std::string& where, const std::string& reason) override {
    if (kind == NoteKind::Skipped) ++tally_.skipped;
    if (kind == NoteKind::Ignored) ++tally_.ignored;
    ReadNote line{kind, where, reason};
    err_ << formatNoteLine(line) << '\n';
    if (keep_notes_) tally_.notes.push_back(std::move(line));
  }

 private:
  ReportDigest& digest_;
  ReadTally& tally_;
  std::ostream& err_;
  bool keep_notes_;
};

Unexpected usage(const std::string& why) {
  return fail(ErrorCode::InvalidInput,
              why + "\nusage: mtastsd --read-reports [--json] [--since DAYS] PATH...");
}

}  // namespace

Result<ReadReportsOptions> parseReadReportsArguments(const std::vector<std::string>& args, UnixSeconds now) {
  ReadReportsOptions options;
  options.now = now;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.empty() || arg[0] != '-' || arg == "-") {
      options.paths.push_back(arg);
    } else if (arg == "--") {
      options_ended = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--since") {
      if (i + 1 >= args.size()) return usage("--since needs a number of days");
      const std::string& text = args[++i];
      unsigned days = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), days);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || days > MaxSinceDays) {
        return usage(fmt::format("--since \"{}\": expected a number of days from 0 to {}",
                                 escapeForLog(text, 40), MaxSinceDays));
      }
      options.since_days = days;
    } else {
      return usage(fmt::format("--read-reports: unknown option \"{}\"", escapeForLog(arg, 40)));
    }
  }
  if (options.paths.empty()) return usage("--read-reports needs at least one file or directory");
  return options;
}

int runReadReports(const ReadReportsOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<UnixSeconds> since;
  if (options.since_days) {
    since = dayStart(utcDayOf(options.now)) - static_cast<UnixSeconds>(*options.since_days) * SecondsPerDay;
  }
  ReportDigest digest(since);
  ReadTally tally;
  CommandSink sink(digest, tally, err, options.json);
  for (const std::string& path : options.paths) readReportPath(path, options.limits, sink);
  err.flush();
  out << (options.json ? formatDigestJson(digest, tally) : formatDigestText(digest, tally));
  out.flush();
  if (digest.counted() + digest.duplicates() + digest.beforeWindow() == 0) return ReadReportsNothingUsable;
  return tally.skipped > 0 ? ReadReportsSomeSkipped : ReadReportsAllRead;
}

}  // namespace mtasts::tlsrpt
