// Finds the RFC 8460 section 5.3 report attachments in one received mail and undoes their
// transfer encoding. Taken as a report: application/tlsrpt+gzip and application/tlsrpt+json
// (the RFC's types) whatever their file name, and, because some reporters send them so,
// application/gzip, application/x-gzip and application/octet-stream named *.json.gz, and
// application/json or application/octet-stream named *.json (never *.xml.gz: DMARC). Pure; the bytes
// returned are still gzip or JSON (report_reader.hpp reads them). Nothing throws: damaged
// parts and structure come back as reasons, one per part.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/mime_parts.hpp"

namespace mtasts::tlsrpt {

struct ReportPart {
  std::string label;      // "part 2 (google.com!example.com!1!2!001.json.gz)"
  std::string file_name;  // as the part names itself (RFC 2231 / 2047 decoded), may be empty
  std::string content;    // the transfer-decoded attachment: gzip or JSON bytes
};

struct BrokenReportPart {
  std::string label;
  std::string reason;  // "invalid base64: byte \"*\" at byte 120"
};

struct ReportMailScan {
  // The mail says it is a TLSRPT report (multipart/report; report-type=tlsrpt, or a
  // TLS-Report-Domain field): finding no report in it is damage, not an unrelated mail.
  bool announces_report = false;
  std::string report_domain;  // TLS-Report-Domain, trimmed; empty when absent
  std::vector<ReportPart> parts;
  std::vector<BrokenReportPart> broken;  // report parts whose body could not be decoded
  std::vector<std::string> structure_problems;  // from walkMime
  std::string outline;  // "multipart/mixed: text/plain, application/pdf" for an "ignored" line
};

// True when a part of this media type (lower case) and file name is taken as a report.
bool isReportAttachment(std::string_view content_type, std::string_view file_name);

ReportMailScan scanReportMail(std::string_view mail, const MimeLimits& limits = {});

}  // namespace mtasts::tlsrpt
