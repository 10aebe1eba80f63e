// Names of a report: its report-id and its file name (RFC 8460 sections 4.4 and 5.1), and
// the submitter domain they are built from. A report-id is made once per (day, policy
// domain) with a random token, stored, and reused on every retry, so a receiver can drop
// duplicates (section 5.3: the Subject's Report-ID). Pure except randomReportToken().
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tlsrpt/utc_day.hpp"

namespace mtasts::tlsrpt {

// 16 lower-case hex digits (64 bits) from OpenSSL's RAND_bytes; Internal if it fails.
Result<std::string> randomReportToken();

// "<YYYY-MM-DD>.<token>.<policy-domain>@<submitter>": unique by the token, readable by the
// rest, and an RFC 5322 msg-id (dot-atom-text "@" dot-atom-text) as the Subject needs.
// InvalidInput unless both domains are hostnames and the token is 1-64 letters or digits.
Result<std::string> makeReportId(UtcDay day, std::string_view policy_domain,
                                 std::string_view submitter, std::string_view token);

// The filename's unique-id (1*(ALPHA / DIGIT)): the letters and digits of the report-id's
// part before the last '@', at most 32 of them (the date and the token for our ids; any
// character unsafe in a file name is dropped). Empty when there are none.
std::string fileNameUniqueId(std::string_view report_id);

// "<submitter>!<policy-domain>!<begin>!<end>[!<unique-id>].json.gz", begin and end the
// Unix seconds of the day's first and last second (what the date-range says).
// InvalidInput unless both domains are hostnames, which also keeps '/' and '!' out.
Result<std::string> reportFileName(std::string_view submitter, std::string_view policy_domain,
                                   UtcDay day, std::string_view report_id);

// The domain of an addr-spec such as contact-info, lower case; InvalidInput unless it is
// local@hostname.
Result<std::string> addressDomain(std::string_view address);

}  // namespace mtasts::tlsrpt
