// GetdnsDnsClient: DnsClient over getdns 1.6 in stub mode, driven by the daemon's libevent
// loop (getdns_extension_set_libevent_base). The client owns its getdns context; the
// event_base is borrowed and must outlive the client and every handle it returned.
// Answers are classified as Ok / NoRecord (NXDOMAIN, NODATA) / Failed (everything else,
// with a detail such as "SERVFAIL" or "timeout after 5000 ms"). MX and TLSA answers carry a
// DNSSEC status per DnsOptions::dnssec (getdns_answer.hpp): getdns' own validation against
// the trust anchor file, or the AD bit of a loopback resolver (a SERVFAIL then asked again
// with CD: bogus when that answers); TXT and address answers are Unchecked. Callbacks follow
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
struct getdns_dict;

namespace mtasts::net {

struct DnsOptions {
  // "host", "host:port", "[v6]:port" (numeric addresses only); empty = /etc/resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{5000};
  DnssecMode dnssec = DnssecMode::Off;
  // Validate: DS / DNSKEY records in zone-file form (Debian's dns-root-data root.key). A
  // missing or unreadable file fails create().
  std::string trust_anchor_file;
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
  bool validatesDnssec() const override { return mode_ != DnssecMode::Off; }

  // The mode in effect: Off when options.dnssec was Off, or TrustAd was asked for but a
  // resolver is not on loopback (dnssecProblem() says which; the owner warns).
  DnssecMode dnssecMode() const { return mode_; }
  const std::string& dnssecProblem() const { return problem_; }

 private:
  friend class DnsLookup;
  GetdnsDnsClient(event_base* base, getdns_context* context, std::chrono::milliseconds timeout)
      : base_(base), context_(context), timeout_(timeout) {}
  Result<void> setUpDnssec(const DnsOptions& options);
  template <typename Lookup, typename Answer, typename Callback>
  RequestHandle secureLookup(const std::string& name, std::uint16_t rrtype, Callback done);

  event_base* base_;
  getdns_context* context_;
  std::chrono::milliseconds timeout_;
  DnssecMode mode_ = DnssecMode::Off;
  std::string problem_;
  getdns_dict* query_ext_ = nullptr;  // owned: the extensions of MX and TLSA queries
  getdns_dict* probe_ext_ = nullptr;  // owned: TrustAd's CD probe
  std::unordered_set<DnsLookup*> live_;  // outstanding lookups, cancelled on destruction
};

}  // namespace mtasts::net
