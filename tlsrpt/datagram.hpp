// The datagram that libtlsrpt (Postfix >= 3.10, smtp_tlsrpt_enable) sends for one TLS
// handshake, parsed and validated (DESIGN.md section 7). parseDatagram is a pure function
// over the received bytes: no I/O, no state, safe on any thread; the result owns its strings.
// Errors: ErrorCode::TooLarge when a bound below is exceeded, ErrorCode::InvalidInput
// otherwise; the detail names the byte offset, the member and the reason, untrusted text
// escaped. Oddities that do not make the datagram unusable are DatagramWarnings instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "tlsrpt/report_types.hpp"

namespace mtasts::tlsrpt {

// Bounds. Postfix 3.11 sends about 200 to 700 bytes, one policy, at most one failure
// detail, and its longest string is the EHLO response (its smtp(8) keeps at most about
// 2 x line_length_limit = 4 KiB of it). An MTA-STS policy is at most 64 KiB (RFC 8461 3.3);
// one whose strings exceed a 64 KiB datagram cannot be reported by anyone.
inline constexpr std::size_t MaxDatagramBytes = 64 * 1024;
inline constexpr std::size_t MaxPolicies = 16;            // Postfix: 1
inline constexpr std::size_t MaxPolicyStrings = 256;      // per policy: one per policy line
inline constexpr std::size_t MaxMxHosts = 256;            // per policy
inline constexpr std::size_t MaxFailureDetails = 64;      // per policy; Postfix: 0 or 1
inline constexpr std::size_t MaxStringBytes = 8 * 1024;   // any one string, decoded

// One failure-details entry as sent. Empty strings mean "not sent": libtlsrpt leaves NULL
// members out, and Postfix sends "s": "" when getsockname() fails; both read as absent.
struct DatagramFailureDetail {
  TlsRptResultType result = TlsRptResultType::ValidationFailure;  // "c", 201-205 / 301-306
  std::string sending_mta_ip;          // "s", an IPv4 or IPv6 address
  std::string receiving_mx_hostname;   // "n", lower-cased hostname or an IP address
  std::string ehlo_response;           // "h", verbatim: Postfix sends the whole EHLO reply
  std::string receiving_ip;            // "r", an IPv4 or IPv6 address
  std::string additional_information;  // "a", verbatim (Postfix never sets it)
  std::string failure_reason_code;     // "f", verbatim (e.g. self-signed_certificate)

  bool operator==(const DatagramFailureDetail&) const = default;
};

struct DatagramPolicy {
  // policy-type, policy-domain (lower-cased; empty when the datagram has none, which
  // libtlsrpt's API allows for every type), policy-string and mx-host (both as sent).
  PolicyDescriptor policy;
  std::vector<DatagramFailureDetail> failure_details;
  std::uint32_t failure_count = 0;  // "t": informational, never trusted for counting
  bool failed = false;              // "f": 1 = the session failed, 0 = it succeeded

  bool operator==(const DatagramPolicy&) const = default;
};

// Accepted, but worth a counter or a rate-limited log line.
struct DatagramWarnings {
  bool failure_count_mismatch = false;   // some policy's "t" != its failure-details count
  bool details_on_success = false;       // some policy has "f": 0 and failure details
  bool invalid_utf8_replaced = false;    // bytes that are not UTF-8 became U+FFFD
  bool unknown_members_skipped = false;  // members this parser does not know were skipped

  bool operator==(const DatagramWarnings&) const = default;
};

struct Datagram {
  std::string domain;         // "d": the domain whose TLSRPT record Postfix found, lower-cased
  std::string tlsrpt_record;  // "pr": that raw _smtp._tls TXT record, verbatim
  std::vector<DatagramPolicy> policies;  // "policies": 1 to MaxPolicies
  DatagramWarnings warnings;

  bool operator==(const Datagram&) const = default;
};

// Accepts exactly what libtlsrpt's datagram protocol version "1" can carry:
// - one JSON object (whitespace around it allowed, nothing else after it); members in any
//   order; a repeated known member is refused (JSON parsers disagree on which one wins);
// - "dpv" must be the string "1": a later protocol version is refused, not guessed at;
//   members this parser does not know are syntax-checked and skipped (a later library may
//   add some without changing dpv) and flagged in warnings;
// - "d", "pr" and "policies" (1 to MaxPolicies objects) are required; per policy
//   "policy-type" (1, 2 or 9), "t" (>= 0) and "f" (0 or 1); per failure detail "c";
// - domains ("d", "policy-domain", "n") are lower-cased, one trailing dot removed, and
//   must be valid hostnames ("n" may also be an IP address); mx-host entries are a hostname
//   or "*." + hostname; "s" and "r" must parse with inet_pton;
// - numbers are integers of at most 9 digits (no fraction, exponent or leading zero);
//   strings may not contain raw control bytes, \u0000 or unpaired surrogate escapes;
//   bytes that are not UTF-8 are replaced by U+FFFD (a report must be valid UTF-8, and
//   dropping the datagram would hide a failure whose EHLO reply carried such bytes).
Result<Datagram> parseDatagram(std::string_view bytes);

}  // namespace mtasts::tlsrpt
