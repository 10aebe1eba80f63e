// DnsClient: asynchronous TXT and address lookups on the daemon's event loop.
// The real implementation (getdns_dns_client.hpp) drives getdns through its libevent
// extension; tests use a fake. Callbacks follow the contract in common/pending.hpp.
// "No record" (NXDOMAIN, NODATA) is kept apart from "lookup failed" (SERVFAIL, timeout,
// REFUSED, network down) because RFC 8461 treats them differently.
#pragma once

#include "common/pending.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mtasts::net {

enum class DnsStatus {
  Ok,        // at least one record of the asked type
  NoRecord,  // NXDOMAIN or NODATA: the name or type does not exist
  Failed,    // SERVFAIL, timeout, refused, bogus DNSSEC, no network: we do not know
};

struct TxtAnswer {
  DnsStatus status = DnsStatus::Failed;
  // One entry per TXT RR (CNAMEs already followed); each RR as its character-strings.
  std::vector<std::vector<std::string>> records;
  bool dnssec_secure = false;
  std::string detail;  // why it failed, for logs and --query
};

struct AddressAnswer {
  DnsStatus status = DnsStatus::Failed;
  std::vector<std::string> addresses;  // numeric IPv4 and IPv6, AAAA and A merged
  bool dnssec_secure = false;
  std::string detail;
};

class DnsClient {
 public:
  using TxtCallback = std::function<void(TxtAnswer)>;
  using AddressCallback = std::function<void(AddressAnswer)>;

  virtual ~DnsClient() = default;
  virtual RequestHandle lookupTxt(const std::string& name, TxtCallback done) = 0;
  // A and AAAA together; Ok if either returned addresses.
  virtual RequestHandle lookupAddresses(const std::string& name, AddressCallback done) = 0;
};

}  // namespace mtasts::net
