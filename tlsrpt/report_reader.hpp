// Reading one received RFC 8460 report: its bytes (gzip or JSON, told apart by content, not by
// name) to JSON text within a bound, then the JSON checked by the lenient validator
// (report_validator.hpp) and turned into plain values. Pure. Every refusal is an
// InvalidInput (TooLarge for a gzip bomb) whose detail is the one-line reason the
// --read-reports skip line prints.
//
// Deviations of real reporters that are accepted: no policy-domain (sys4 tlsrpt-reporter for
// no-policy-found), no mx-host / sending-mta-ip / receiving-ip (Microsoft), empty arrays,
// end-datetime at 00:00:00 of the next day, a contact-info that is null or no addr-spec
// (the validator's contact-info problems are tolerated and listed in `tolerated`).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/report.hpp"

namespace mtasts::tlsrpt {

// A day's report of a big receiver is megabytes; 16 MiB of JSON is far above any seen.
constexpr std::size_t DefaultMaxReportJson = 16 * 1024 * 1024;

struct ReceivedReport {
  std::string organization_name;
  std::string contact_info;  // empty when missing or null
  std::string report_id;
  UnixSeconds start = 0;     // date-range, as Unix seconds
  UnixSeconds end = 0;
  // Domains and mx host names lower case without a trailing dot; strings as received.
  std::vector<PolicyEntry> policies;
  std::vector<std::string> tolerated;  // validator problems accepted (see above)
};

// True for bytes that start with the gzip magic 1f 8b.
bool isGzip(std::string_view bytes) noexcept;

// True when the text's first byte after a UTF-8 BOM and whitespace is '{'.
bool looksLikeJsonObject(std::string_view text) noexcept;

// The gzip stream decompressed to at most max_json bytes; CR, LF, space, tab or NUL bytes
// after it are allowed (some mailers add them), anything else is damage. The error detail
// starts with "gzip: ".
Result<std::string> gunzipReport(std::string_view gz, std::size_t max_json = DefaultMaxReportJson);

// gzip (magic 1f 8b) through gunzipReport() to a JSON object, or JSON text (first byte '{'
// after a UTF-8 BOM and whitespace) taken as it is. Anything else: InvalidInput.
Result<std::string> reportJsonFromBytes(std::string_view bytes,
                                        std::size_t max_json = DefaultMaxReportJson);

// The JSON checked and read. A JSON text that is not a report at all (neither an
// "organization-name" nor a "date-range" member) says so rather than listing what is missing.
Result<ReceivedReport> readReportJson(std::string_view json);

// RFC 3339 date-time (as RFC 8460 4.4 requires) to Unix seconds; InvalidInput otherwise.
Result<UnixSeconds> parseRfc3339DateTime(std::string_view text);

}  // namespace mtasts::tlsrpt
