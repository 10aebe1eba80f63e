// An RFC 8460 section 4.4 report checker written from the RFC's schema and field list, not
// from our writer: it parses with nlohmann-json and checks the shape, so a writer bug cannot
// hide behind shared code. Used by every report test, by the e2e test on what Postfix
// delivered, and available to --report --dry-run. Pure; returns every problem found (empty:
// the report is valid), each as "<path>: <what is wrong>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt {

struct ValidationOptions {
  // Lenient (false) accepts what real reporters send and the RFC allows: unknown members,
  // no policy-domain (sys4 leaves it out for no-policy-found), empty arrays.
  // Strict (true) adds what our writer promises: no member outside the RFC's list, no empty
  // string or array, policy-domain in every policy, at least one policy, and a date-range
  // that is exactly one UTC day (00:00:00Z to 23:59:59Z).
  bool strict = false;
};

// Checks, in both modes: valid JSON and UTF-8 (RFC 8259), no duplicate member names (RFC 7493),
// the required members with their JSON types (organization-name, date-range with RFC 3339
// start-datetime and end-datetime, start <= end, contact-info an addr-spec, report-id,
// policies an array; per policy: policy with policy-type in tlsa | sts | no-policy-found,
// policy-string and mx-host arrays of strings, summary with both counts; per failure row:
// result-type from section 4.3 and failed-session-count), counts non-negative integers
// below 2^53, IP address members parse as IPv4/IPv6, domains and mx-host patterns are
// A-label hostnames.
std::vector<std::string> validateReportJson(std::string_view json, ValidationOptions options = {});

}  // namespace mtasts::tlsrpt
