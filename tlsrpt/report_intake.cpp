#include "tlsrpt/report_intake.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/report_mail_reader.hpp"

namespace mtasts::tlsrpt {
namespace {

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && equalsIgnoreCaseAscii(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view baseName(std::string_view path) noexcept {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void readReportJsonText(std::string_view json, const std::string& where, std::string_view hint,
                        ReportSink& sink) {
  auto report = readReportJson(json);
  if (!report) {
    sink.note(NoteKind::Skipped, where, report.error().detail);
    return;
  }
  sink.report(std::move(*report), where, hint);
}

// The JSON of a report (gzip undone) read and handed to the sink, or one "skipped" note.
void readReportBytes(std::string_view bytes, const std::string& where, std::string_view hint,
                     const IntakeLimits& limits, ReportSink& sink) {
  auto json = reportJsonFromBytes(bytes, limits.max_report_json);
  if (!json) {
    sink.note(NoteKind::Skipped, where, json.error().detail);
    return;
  }
  readReportJsonText(*json, where, hint, sink);
}

}  // namespace

std::string_view noteKindName(NoteKind kind) noexcept {
  switch (kind) {
    case NoteKind::Ignored: return "ignored";
    case NoteKind::Skipped: return "skipped";
    case NoteKind::Duplicate: return "duplicate";
  }
  return "skipped";
}

std::string domainFromReportFileName(std::string_view name) {
  name = baseName(name);
  const std::size_t first = name.find('!');
  if (first == std::string_view::npos) return {};
  const std::size_t second = name.find('!', first + 1);
  if (second == std::string_view::npos || name.find('!', second + 1) == std::string_view::npos) return {};
  const std::string domain = toLowerAscii(name.substr(first + 1, second - first - 1));
  return isValidHostname(domain) ? domain : std::string();
}

void readReportMail(std::string_view mail, const std::string& where, const IntakeLimits& limits,
                    ReportSink& sink) {
  const ReportMailScan scan = scanReportMail(mail, limits.mime);
  if (scan.parts.empty() && scan.broken.empty()) {
    if (!scan.announces_report) {
      sink.note(NoteKind::Ignored, where, fmt::format("no TLSRPT report in this mail ({})", escapeForLog(scan.outline)));
      return;
    }
    std::string why = "a TLSRPT report mail without a report attachment (" + escapeForLog(scan.outline) + ")";
    if (!scan.structure_problems.empty()) why += ": " + scan.structure_problems.front();
    sink.note(NoteKind::Skipped, where, why);
    return;
  }
  for (const BrokenReportPart& broken : scan.broken) {
    sink.note(NoteKind::Skipped, where + ": " + broken.label, broken.reason);
  }
  for (const ReportPart& part : scan.parts) {
    const std::string hint = !scan.report_domain.empty() ? toLowerAscii(scan.report_domain)
                                                         : domainFromReportFileName(part.file_name);
    readReportBytes(part.content, where + ": " + part.label, hint, limits, sink);
  }
}

void readReportFile(std::string_view content, const std::string& where, std::string_view file_name,
                    const IntakeLimits& limits, ReportSink& sink) {
  const std::string hint = domainFromReportFileName(file_name);
  if (isGzip(content)) {
    auto json = gunzipReport(content, limits.max_report_json);
    if (!json) {
      sink.note(NoteKind::Skipped, where, json.error().detail);
    } else if (looksLikeJsonObject(*json)) {
      readReportJsonText(*json, where, hint, sink);
    } else if (endsWithIgnoreCase(file_name, ".gz") && !endsWithIgnoreCase(file_name, ".json.gz")) {
      // Not named as a report and not JSON inside: unrelated (a DMARC .xml.gz, a rotated log).
      sink.note(NoteKind::Ignored, where, "a gzip file without a JSON report inside");
    } else {
      sink.note(NoteKind::Skipped, where,
                fmt::format("gzip holds no JSON object (starts with \"{}\")", escapeForLog(json->substr(0, 16))));
    }
    return;
  }
  readReportBytes(content, where, hint, limits, sink);
}

}  // namespace mtasts::tlsrpt
