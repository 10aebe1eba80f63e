// GetdnsDnsClient: DnsClient over getdns 1.6 in stub mode, driven by the daemon's libevent
// loop (getdns_extension_set_libevent_base). The client owns its getdns context; the
// event_base is borrowed and must outlive the client and every handle it returned.
// Answers are classified as Ok / NoRecord (NXDOMAIN, NODATA) / Failed (everything else,
// with a detail such as "SERVFAIL" or "timeout after 5000 ms"). No DNSSEC validation here:
// every answer is DnssecStatus::Unchecked (the upstream's AD bit is passed on as is). Callbacks follow
// common/pending.hpp; destroying the client cancels everything still outstanding.
#pragma once

#include "common/result.hpp"
#include "net/dns_client.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

struct event_base;
struct getdns_context;

namespace mtasts::net {

struct DnsOptions {
  // "host", "host:port", "[v6]:port" (numeric addresses only); empty = /etc/resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{5000};
};

struct DnsServer {
  std::string address;  // numeric IPv4 or IPv6
  std::uint16_t port = 53;
};

// Parses one DnsOptions::servers entry; rejects names, bad ports, empty strings.
Result<DnsServer> parseDnsServer(std::string_view text);

class DnsLookup;

class GetdnsDnsClient final : public DnsClient {
 public:
  static Result<std::unique_ptr<GetdnsDnsClient>> create(event_base* base,
                                                         const DnsOptions& options);
  ~GetdnsDnsClient() override;
  GetdnsDnsClient(const GetdnsDnsClient&) = delete;
  GetdnsDnsClient& operator=(const GetdnsDnsClient&) = delete;

  RequestHandle lookupTxt(const std::string& name, TxtCallback done) override;
  RequestHandle lookupMx(const std::string& name, MxCallback done) override;
  RequestHandle lookupTlsa(const std::string& name, TlsaCallback done) override;
  RequestHandle lookupAddresses(const std::string& name, AddressCallback done) override;

 private:
  friend class DnsLookup;
  GetdnsDnsClient(event_base* base, getdns_context* context, std::chrono::milliseconds timeout)
      : base_(base), context_(context), timeout_(timeout) {}

  event_base* base_;
  getdns_context* context_;
  std::chrono::milliseconds timeout_;
  std::unordered_set<DnsLookup*> live_;  // outstanding lookups, cancelled on destruction
};

}  // namespace mtasts::net
