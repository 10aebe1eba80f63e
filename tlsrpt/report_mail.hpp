// The report mail of RFC 8460 section 5.3 for one mailto: destination: multipart/report;
// report-type="tlsrpt" with a text/plain part and the application/tlsrpt+gzip attachment
// (base64, 76-character lines, with its file name); headers From, To, Subject, Date,
// Message-ID, TLS-Report-Domain, TLS-Report-Submitter, TLS-Required: No (RFC 8689),
// MIME-Version, Content-Type. CRLF line ends, folded at 78 where a space allows, never a line
// over 998 bytes. Pure: time, ids and boundary come in, so the bytes are reproducible. Every
// value is checked (InvalidInput with a reason): nothing untrusted can add a header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

struct ReportMailParams {
  std::string from;               // addr-spec; its domain must be the submitter (5.3)
  std::string to;                 // addr-spec, the mailto: rua's address
  std::string policy_domain;      // TLS-Report-Domain and "Report Domain:"
  std::string submitter;          // TLS-Report-Submitter and "Submitter:"
  std::string report_id;          // "Report-ID: <...>", a msg-id (id-left@id-right)
  std::string message_id;         // Message-ID without the angle brackets
  std::string organization_name;  // named in the text part (any bytes; made safe)
  UtcDay day;                     // the report's day, named in the text part
  UnixSeconds date = 0;           // Date:
  std::string boundary;           // RFC 2046 boundary, 1-70 bchars; must not occur in a part
  std::string file_name;          // the attachment's file name (reportFileName)
  std::string gzip_report;        // the attachment: the gzip-compressed JSON
};

// The whole message, headers and body, ready for sendmail (or for DKIM signing first).
Result<std::string> buildReportMail(const ReportMailParams& params);

// "<id-left>.<index>@<id-right>" of the report-id: the same on every retry of one
// destination, different between the destinations of one report.
std::string makeMessageId(std::string_view report_id, std::size_t destination_index);

// "=_tlsrpt_<token>": '=' followed by '_' never occurs in base64 or in our text part.
std::string makeMimeBoundary(std::string_view token);

// Base64 (RFC 2045 6.8) in lines of 76 characters, each ending in CRLF.
std::string base64Lines(std::string_view bytes);

}  // namespace mtasts::tlsrpt
