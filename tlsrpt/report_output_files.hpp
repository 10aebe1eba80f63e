// The files `mtastsd --report --dry-run --out DIR` writes instead of sending: the report as
// sent (<submitter>!<domain>!<begin>!<end>!<id>.json.gz, RFC 8460 5.1) and, per mailto:
// destination, the message that would go to sendmail (<same name without .json.gz>.<NN>.eml,
// CRLF lines, DKIM-signed when keys are configured). Each file is written to a temporary
// name and renamed (mode 0644). Runs off the loop (disk I/O). Errors: Io with the path.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/report_mailer.hpp"
#include "tlsrpt/report_state_codec.hpp"

namespace mtasts::tlsrpt {

// Returns the names written (without the directory).
Result<std::vector<std::string>> writeReportFiles(const std::string& dir, const StoredReport& report, UtcDay day,
                                                  std::string_view domain,
                                                  const std::vector<std::pair<int, Delivery>>& destinations,
                                                  const MailIdentity& mail, UnixSeconds now);

// Writes `bytes` to dir/name through a temporary file and a rename.
Result<void> writeFileAtomically(const std::string& dir, const std::string& name, std::string_view bytes);

}  // namespace mtasts::tlsrpt
