// Turns a getdns response dict (owned by the caller) into a TxtAnswer / MxAnswer /
// TlsaAnswer / AddressAnswer: follows the CNAME chain in the answer section from the
// question name, keeps only the RRset at its end, and classifies the reply (NXDOMAIN/NODATA
// -> NoRecord, anything else that is not an answer -> Failed with a detail), with the TTL the
// answer may be cached for. The DNSSEC status follows the DnssecMode the query was made in:
// Off -> Unchecked (the upstream's AD bit kept apart, as information); Validate -> getdns'
// own dnssec_status (SECURE, BOGUS, INSECURE; INDETERMINATE, no trust anchor above the name,
// reads as Insecure); TrustAd -> Secure with the AD bit, Insecure without. A Bogus answer is
// Failed and has no records. Pure functions over the dict; no I/O.
#pragma once

#include "net/dns_client.hpp"

#include <chrono>

struct getdns_dict;

namespace mtasts::net {

struct AnswerContext {
  std::chrono::milliseconds timeout{0};  // for the detail of a timed-out query
  DnssecMode dnssec = DnssecMode::Off;   // how the query was made (MX and TLSA only)
};

TxtAnswer txtAnswerFromResponse(getdns_dict* response, const AnswerContext& context);
MxAnswer mxAnswerFromResponse(getdns_dict* response, const AnswerContext& context);
TlsaAnswer tlsaAnswerFromResponse(getdns_dict* response, const AnswerContext& context);
AddressAnswer addressAnswerFromResponse(getdns_dict* response, const AnswerContext& context);

// The answer to the same query with the CD bit, after a validating upstream said SERVFAIL:
// when it answers (records or NXDOMAIN/NODATA), the SERVFAIL was a validation failure and
// `first` becomes Bogus; otherwise `first` stays the plain failure it was.
template <typename Answer>
Answer withCheckingDisabledProbe(Answer first, const Answer& probe) {
  if (probe.status == DnsStatus::Failed) return first;
  first.dnssec = DnssecStatus::Bogus;
  first.detail = "DNSSEC bogus (SERVFAIL from the validating resolver; the query with CD answers)";
  return first;
}

// Whether an answer made in TrustAd mode needs the CD probe above.
bool needsCheckingDisabledProbe(const DnsAnswerMeta& answer);

}  // namespace mtasts::net
