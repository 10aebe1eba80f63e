// The RFC 8460 section 4.4 JSON text of a Report: member names and order as in the RFC's
// figure, counts as JSON numbers, "policies" always an array. Deterministic (same Report, same
// bytes: golden files rely on it) and always valid 7-bit JSON whatever bytes the strings hold
// (text_escape.hpp: non-ASCII as \u escapes, invalid UTF-8 as \ufffd). Pure, no I/O.
// Members that are unknown (empty strings, empty arrays, no failure rows) are left out.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tlsrpt/json_out.hpp"
#include "tlsrpt/report.hpp"

namespace mtasts::tlsrpt {

// The JSON text, 2-space indented, ending in a newline. InvalidInput when a member the RFC
// requires is empty (organization-name, contact-info, report-id, policy domain): a report
// without them is not sent at all rather than sent broken.
Result<std::string> writeReportJson(const Report& report);

// The members "policy", "summary" and (when there are rows) "failure-details" of one entry of
// "policies", into the object `json` has open: what --tlsrpt-status shows is byte for byte
// what the report carries. report_domain is the policy-domain of a descriptor without one.
void writePolicyEntryMembers(JsonOut& json, const PolicyEntry& entry, std::string_view report_domain);

}  // namespace mtasts::tlsrpt
