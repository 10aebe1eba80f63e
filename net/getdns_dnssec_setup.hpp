// How a GetdnsDnsClient learns DNSSEC status (DnssecMode), the setup half: reading the trust
// anchor file for getdns' own validation (Validate), and the check that every upstream is on
// loopback before its AD bit is trusted (TrustAd). Called once from GetdnsDnsClient::create on
// the loop thread; the context is borrowed. Errors: Io / InvalidInput with the file or the
// resolver named, Internal for a getdns call that failed.
#pragma once

#include "common/result.hpp"

#include <string>

struct getdns_context;

namespace mtasts::net {

// DS and DNSKEY records in zone-file form (Debian's /usr/share/dns/root.key, unbound's
// trust-anchor-file), at most 1 MiB, become the context's trust anchors.
Result<void> loadTrustAnchors(getdns_context* context, const std::string& path);

// Trusting the AD bit is sound only when nothing can tamper with the path to the resolver:
// every upstream (dns_servers, or /etc/resolv.conf's) must be a loopback address.
Result<void> upstreamsOnLoopback(getdns_context* context);

}  // namespace mtasts::net
