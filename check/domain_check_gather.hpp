// DomainCheckGather: the network half of `mtastsd --check-domain`. Asks, all at once, for the
// _mta-sts and _smtp._tls TXT records, the MX records and the policy host's addresses; then
// probes TLS on port 443 of each policy host address, fetches the policy (the MTA-STS fetch
// request of policy/policy_fetch.hpp), and, unless SMTP is off, looks up each MX host (at
// most MaxProbedMxHosts) and probes STARTTLS on each of its addresses (at most
// MaxProbedAddresses). Every step is bounded by its own client's timeout; when the last one
// has answered, `done` gets the DomainFacts (domain_check.hpp judges them). Loop thread;
// borrows the clients, which must outlive it; destroying it cancels what is in flight.
#pragma once

#include "common/pending.hpp"
#include "check/domain_check.hpp"
#include "net/dns_client.hpp"
#include "net/https_client.hpp"
#include "net/tls_probe.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mtasts::check {

struct DomainCheckOptions {
  std::string domain;        // the policy domain, A-label form, lower case
  bool smtp = true;          // false: --no-smtp
  std::uint16_t smtp_port = 25;
  std::string ehlo_name;
  std::chrono::milliseconds smtp_timeout{30'000};  // one whole SMTP probe
  std::chrono::milliseconds fetch_timeout{10'000}; // the fetch, and the TLS probe of the policy host
  std::size_t max_policy_size = 64 * 1024;
  std::uint16_t https_port = 443;
};

class DomainCheckGather {
 public:
  DomainCheckGather(net::DnsClient& dns, net::HttpsClient& https, net::TlsProber& prober, DomainCheckOptions options)
      : dns_(dns), https_(https), prober_(prober), options_(std::move(options)) {}
  DomainCheckGather(const DomainCheckGather&) = delete;
  DomainCheckGather& operator=(const DomainCheckGather&) = delete;

  // Starts every lookup; `done` runs once, on the loop, after the last one answered.
  void start(std::function<void(DomainFacts)> done);

 private:
  void policyHostAnswered(net::AddressAnswer answer);
  void mxAnswered(net::MxAnswer answer);
  void mxHostAnswered(std::size_t index, net::AddressAnswer answer);
  void began() { ++pending_; }
  void ended();

  net::DnsClient& dns_;
  net::HttpsClient& https_;
  net::TlsProber& prober_;
  DomainCheckOptions options_;
  DomainFacts facts_;
  std::function<void(DomainFacts)> done_;
  std::vector<RequestHandle> handles_;
  std::size_t pending_ = 0;
};

}  // namespace mtasts::check
