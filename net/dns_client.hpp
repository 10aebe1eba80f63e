// DnsClient: asynchronous TXT, MX, TLSA and address lookups on the daemon's event loop.
// The real implementation (getdns_dns_client.hpp) drives getdns through its libevent
// extension; tests use a fake. Callbacks follow the contract in common/pending.hpp.
// "No record" (NXDOMAIN, NODATA) is kept apart from "lookup failed" (SERVFAIL, timeout,
// REFUSED, network down) because RFC 8461 treats them differently. Every answer says how
// far it was DNSSEC-validated (DnssecStatus) and how long it may be cached (ttl). Only MX
// and TLSA answers are validated (DANE, RFC 7672), and only by a client whose
// validatesDnssec() is true; every other answer says Unchecked, whatever its upstream claims.
#pragma once

#include "common/pending.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::net {

enum class DnsStatus {
  Ok,        // at least one record of the asked type
  NoRecord,  // NXDOMAIN or NODATA: the name or type does not exist
  Failed,    // SERVFAIL, timeout, refused, bogus DNSSEC, no network: we do not know
};

enum class DnssecStatus {
  Unchecked,  // nobody validated this answer (stub resolution; the upstream's AD bit alone
              // proves nothing to us)
  Secure,     // validated: a chain of trust from a trust anchor
  Insecure,   // validated: provably unsigned (an insecure delegation)
  Bogus,      // validation failed: the answer must not be used (status Failed, no records).
              // A validating upstream says SERVFAIL; told apart from a plain failure by the
              // same query with the CD bit, which then answers
};
std::string_view dnssecStatusName(DnssecStatus status) noexcept;

// How a client learns the DNSSEC status of MX and TLSA answers.
enum class DnssecMode {
  Off,       // not at all: every answer Unchecked
  Validate,  // it validates them itself, from its own trust anchors
  TrustAd,   // it trusts the AD bit of a validating upstream (which must be on loopback)
};
std::string_view dnssecModeName(DnssecMode mode) noexcept;

// What every answer carries besides its records.
struct DnsAnswerMeta {
  DnsStatus status = DnsStatus::Failed;
  DnssecStatus dnssec = DnssecStatus::Unchecked;
  // The AD bit of the upstream's reply, as received (for an "upstream is trusted" option;
  // on its own it is not a validation).
  bool upstream_ad = false;
  std::string detail;  // why it failed or was empty ("NXDOMAIN", "SERVFAIL"), for logs and --query
  // Seconds the answer may be cached: the smallest TTL of the records and CNAMEs (Ok), the
  // SOA's negative TTL, min(TTL, MINIMUM) (NoRecord; RFC 2308); 0 when unknown or Failed.
  std::uint32_t ttl = 0;
};

struct TxtAnswer : DnsAnswerMeta {
  // One entry per TXT RR (CNAMEs already followed); each RR as its character-strings.
  std::vector<std::vector<std::string>> records;
};

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot; "" for the null MX "." (RFC 7505)
  bool operator==(const MxRecord&) const = default;
};

// The MX RRset as published (any order). No MX at all is NoRecord: the implicit MX (the
// domain itself, RFC 5321 5.1) is the caller's rule, not the resolver's.
struct MxAnswer : DnsAnswerMeta {
  std::vector<MxRecord> records;
};

struct TlsaRecord {
  std::uint8_t usage = 0;     // certificate usage (RFC 6698 2.1.1)
  std::uint8_t selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t mtype = 0;     // matching type: 0 exact, 1 SHA-256, 2 SHA-512
  std::string data;           // certificate association data, raw bytes
  bool operator==(const TlsaRecord&) const = default;
};

struct TlsaAnswer : DnsAnswerMeta {
  std::vector<TlsaRecord> records;
};

struct AddressAnswer : DnsAnswerMeta {
  std::vector<std::string> addresses;  // numeric IPv4 and IPv6, AAAA and A merged
};

class DnsClient {
 public:
  using TxtCallback = std::function<void(TxtAnswer)>;
  using MxCallback = std::function<void(MxAnswer)>;
  using TlsaCallback = std::function<void(TlsaAnswer)>;
  using AddressCallback = std::function<void(AddressAnswer)>;

  virtual ~DnsClient() = default;
  virtual RequestHandle lookupTxt(const std::string& name, TxtCallback done) = 0;
  virtual RequestHandle lookupMx(const std::string& name, MxCallback done) = 0;
  // `name` is the TLSA owner, e.g. "_25._tcp.mx.example.com".
  virtual RequestHandle lookupTlsa(const std::string& name, TlsaCallback done) = 0;
  // A and AAAA together; Ok if either returned addresses. dnssec is the weaker of the two.
  virtual RequestHandle lookupAddresses(const std::string& name, AddressCallback done) = 0;
  // Whether lookupMx() and lookupTlsa() answers carry a DnssecStatus other than Unchecked
  // (DANE checks are pointless otherwise).
  virtual bool validatesDnssec() const { return false; }
};

}  // namespace mtasts::net
