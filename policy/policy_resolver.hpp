// PolicyResolver: the network half of RFC 8461 policy discovery, with no cache logic.
//   discover(): TXT _mta-sts.<domain>  -> the record id, "no policy", or "DNS failed"
//   fetch():    A/AAAA mta-sts.<domain> -> HTTPS GET (policy/policy_fetch.hpp) -> strict
//               policy parse
//   checkDane(): MX <domain> -> TLSA _25._tcp.<host> per MX host (policy/dane_check.hpp)
// Used by PolicyService (which adds caching and single-flight) and by `mtastsd --query`.
// Runs on the event loop; callbacks follow common/pending.hpp. Owns no state between calls.
#pragma once

#include "common/pending.hpp"
#include "common/tlsrpt_result_type.hpp"
#include "net/dns_client.hpp"
#include "policy/dane_check.hpp"
#include "net/https_client.hpp"
#include "sts/policy.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace mtasts::policy {

struct DiscoveryOutcome {
  enum class Status {
    Found,         // exactly one valid v=STSv1 record: `id`
    NoRecord,      // no record, no STS record, several STS records: no MTA-STS (RFC 8461 3.1)
    InvalidRecord, // exactly one STS record but it does not parse: no MTA-STS either
    DnsFailed,     // SERVFAIL, timeout, ...: we do not know
  };
  Status status = Status::DnsFailed;
  std::string id;
  std::vector<std::string> records;  // every TXT RR seen, strings joined (for --query)
  std::string detail;
};

// A failed fetch is StsPolicyFetchError when no policy document came back (DNS, connect,
// TLS other than the certificate, HTTP status, redirect, media type, size) and
// StsPolicyInvalid only when a text/plain 200 body breaks the policy grammar (RFC 8460
// 4.3.2); certificate failures are StsWebpkiInvalid.
struct FetchOutcome {
  bool ok = false;
  std::string body;
  sts::Policy policy;
  std::vector<std::string> addresses;  // of the policy host, for --query
  TlsRptResultType failure = TlsRptResultType::StsPolicyFetchError;
  std::string detail;
};

struct ResolverOptions {
  std::chrono::milliseconds fetch_timeout{10'000};
  std::size_t max_policy_size = 64 * 1024;  // capped at sts::MaxPolicyBodyBytes
  std::uint16_t https_port = 443;
};

class PolicyResolver {
 public:
  PolicyResolver(net::DnsClient& dns, net::HttpsClient& https, ResolverOptions options)
      : dns_(dns), https_(https), options_(options) {}

  void setOptions(const ResolverOptions& options) { options_ = options; }

  RequestHandle discover(const std::string& domain, std::function<void(DiscoveryOutcome)> done);
  RequestHandle fetch(const std::string& domain, std::function<void(FetchOutcome)> done);
  RequestHandle checkDane(const std::string& domain, std::function<void(DaneOutcome)> done) {
    return policy::checkDane(dns_, domain, std::move(done));
  }
  // Whether checkDane() can tell anything (the DNS client validates MX and TLSA answers).
  bool daneCapable() const { return dns_.validatesDnssec(); }

  // Pure: turns a TXT answer into an outcome (exposed for tests).
  static DiscoveryOutcome classifyTxt(const net::TxtAnswer& answer);

 private:
  net::DnsClient& dns_;
  net::HttpsClient& https_;
  ResolverOptions options_;
};

}  // namespace mtasts::policy
