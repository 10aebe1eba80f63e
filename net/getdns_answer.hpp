// Turns a getdns response dict (owned by the caller) into a TxtAnswer / MxAnswer /
// TlsaAnswer / AddressAnswer: follows the CNAME chain in the answer section from the
// question name, keeps only the RRset at its end, and classifies the reply (NXDOMAIN/NODATA
// -> NoRecord, anything else that is not an answer -> Failed with a detail). The client runs
// getdns as a stub without validation: every answer is DnssecStatus::Unchecked, with the
// upstream's AD bit kept apart. Pure functions over the dict; no I/O.
#pragma once

#include "net/dns_client.hpp"

#include <chrono>

struct getdns_dict;

namespace mtasts::net {

TxtAnswer txtAnswerFromResponse(getdns_dict* response, std::chrono::milliseconds timeout);
MxAnswer mxAnswerFromResponse(getdns_dict* response, std::chrono::milliseconds timeout);
TlsaAnswer tlsaAnswerFromResponse(getdns_dict* response, std::chrono::milliseconds timeout);
AddressAnswer addressAnswerFromResponse(getdns_dict* response, std::chrono::milliseconds timeout);

}  // namespace mtasts::net
