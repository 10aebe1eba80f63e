// One report turned into what is sent and stored: its JSON text, the gzip of it, and its
// file name. The JSON is checked with the strict validator before anything leaves, so bad
// data from a collector (a policy domain that is no hostname, an IP field that is no
// address) or a writer bug stops the report here (InvalidInput listing the problems)
// instead of reaching a receiver whose parser would drop it. Pure; the caller stores the
// result once and reuses it for every destination and retry.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tlsrpt/report.hpp"

namespace mtasts::tlsrpt {

struct ReportFiles {
  std::string json;       // the RFC 8460 JSON text (application/tlsrpt+json)
  std::string gzip;       // the bytes sent (application/tlsrpt+gzip), mail and HTTPS alike
  std::string file_name;  // <submitter>!<policy-domain>!<begin>!<end>!<unique>.json.gz
};

// submitter: the domain of the reporting MTA (the contact-info domain, RFC 8460 5.1/5.3).
Result<ReportFiles> buildReportFiles(const Report& report, std::string_view submitter);

}  // namespace mtasts::tlsrpt
