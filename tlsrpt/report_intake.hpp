// From the bytes of one input (a report file's content, or one mail) to received reports and
// one-line notes, for --read-reports: the pure step between finding inputs on disk
// (report_input_files.hpp) and summing them (report_digest.hpp). Each input yields reports,
// or exactly one note per thing that was not read: "ignored" (not a TLSRPT report: an
// unrelated mail or file) or "skipped" (meant as a report but damaged or invalid). No I/O,
// no exceptions; the sink decides what to print.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tlsrpt/mime_parts.hpp"
#include "tlsrpt/report_reader.hpp"

namespace mtasts::tlsrpt {

enum class NoteKind { Ignored, Skipped, Duplicate };

std::string_view noteKindName(NoteKind kind) noexcept;  // "ignored", "skipped", "duplicate"

class ReportSink {
 public:
  virtual ~ReportSink() = default;
  // where: the input ("box.mbox: mail 3 (line 57): part 2 (x.json.gz)"); domain_hint: the
  // report's domain from the mail header or file name, empty if unknown.
  virtual void report(ReceivedReport&& report, const std::string& where, std::string_view domain_hint) = 0;
  virtual void note(NoteKind kind, const std::string& where, const std::string& reason) = 0;
};

struct IntakeLimits {
  std::size_t max_input_bytes = 64 * 1024 * 1024;  // one file, or one mail of an mbox
  std::size_t max_report_json = DefaultMaxReportJson;  // after gunzip: the gzip bomb bound
  MimeLimits mime;
};

// The domain field of an RFC 8460 5.1 report file name
// (<sender>!<policy-domain>!<begin>!<end>[!<id>].json[.gz], any directory part ignored),
// lower case; empty unless it is a hostname.
std::string domainFromReportFileName(std::string_view name);

// One mail (RFC 5322 text, CRLF or LF): each report attachment read, or one note each.
void readReportMail(std::string_view mail, const std::string& where, const IntakeLimits& limits,
                    ReportSink& sink);

// A file's whole content already known to start with gzip magic or '{': a report, or a note.
// file_name gives the domain hint and tells an unrelated .gz (e.g. a DMARC .xml.gz, ignored)
// from a damaged report (skipped).
void readReportFile(std::string_view content, const std::string& where, std::string_view file_name,
                    const IntakeLimits& limits, ReportSink& sink);

}  // namespace mtasts::tlsrpt
