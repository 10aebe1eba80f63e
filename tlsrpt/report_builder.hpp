// From a day's stored counts to the report that is sent and stored: the entries of one
// report domain become one RFC 8460 report (one "policies" entry per distinct policy), with a
// report-id made from a random token, its JSON checked by the strict validator, gzipped and
// named (report_files.hpp). Also which TLSRPT record decides where it goes (the one the
// datagrams carried, else the _smtp._tls TXT lookup, parsed strictly), and the delivery
// records that follow from it. Pure functions (the token and the time come in); the report
// sender runs them off the event loop, one report at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/dns_client.hpp"
#include "tlsrpt/day_entry.hpp"
#include "tlsrpt/report.hpp"
#include "tlsrpt/report_state_codec.hpp"
#include "tlsrpt/tlsrpt_record.hpp"

namespace mtasts::tlsrpt {

// Who reports (tlsrpt_organization_name, tlsrpt_contact_info and its domain).
struct ReporterIdentity {
  std::string organization_name;
  std::string contact_info;  // an addr-spec
  std::string submitter;     // contact-info's domain, lower case (RFC 8460 5.1, 5.3)
};

// The TLSRPT record text the entries carried (libtlsrpt's "pr"; empty for own failures and
// mail-log sessions): the one carried by the most sessions, ties to the smallest text;
// nullopt when none carried one.
std::optional<std::string> carriedRecord(const std::vector<DayEntry>& entries);

// The record that decides the destinations: `carried` when it parses (RFC 8460 3), else
// NotFound/InvalidInput from the parser (the caller then looks the record up).
Result<TlsRptRecord> recordFromCarried(std::string_view carried);
// The _smtp._tls TXT answer, strictly: exactly one v=TLSRPTv1 record (strings of each RR
// joined with nothing between). NotFound for NODATA/NXDOMAIN and for no or several records,
// InvalidInput for a bad record, Temporary when the lookup failed (retried).
Result<TlsRptRecord> recordFromTxt(const net::TxtAnswer& answer);
// "_smtp._tls.<domain>"
std::string tlsRptRecordName(std::string_view domain);

// The report of `domain` for `day` from that day's entries of it (any order; equal policies
// of entries with different records are one "policies" entry).
Report reportFromEntries(UtcDay day, std::string_view domain, const std::vector<DayEntry>& entries,
                         const ReporterIdentity& who, std::string report_id);

struct BuiltReport {
  StoredReport stored;  // report-id, file name, submitter, creation time, gzip
  std::string json;     // the JSON text (for --dry-run files and tests)
};

// report-id from `token` (report_naming.hpp), JSON validated strictly, gzip, file name.
// InvalidInput (with the validator's findings) when the counts cannot make a valid report.
Result<BuiltReport> buildReport(UtcDay day, std::string_view domain, const std::vector<DayEntry>& entries,
                                const ReporterIdentity& who, std::string_view token, UnixSeconds now);

// The pending delivery records of a record's rua list, indices 1..n in record order, due now.
std::vector<std::pair<int, Delivery>> destinationsOf(const TlsRptRecord& record, UnixSeconds now);
// The pending lookup record (index LookupIndex) of a domain whose record is not known yet.
Delivery pendingLookup(UnixSeconds now);

}  // namespace mtasts::tlsrpt
