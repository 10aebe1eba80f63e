// DANE check (RFC 7672, for RFC 8461 2: DANE takes precedence over MTA-STS): whether a
// domain's MX RRset (or the domain itself, for an implicit MX) is DNSSEC-secure and whether
// its MX hosts' _25._tcp TLSA RRsets are secure and usable. checkDane() runs the lookups
// over a DnsClient (MX, then the hosts' TLSA in parallel) on the event loop and calls back
// once with a DaneOutcome (callbacks per common/pending.hpp; dropping the handle cancels);
// the rest are pure functions: which hosts, which TLSA records are usable, the state, how
// long it may be cached, and the verdict it leads to next to the MTA-STS one. No errors:
// lookup failures are states (MxFailed, TlsaFailed).
#pragma once

#include "cache/policy_record.hpp"
#include "common/pending.hpp"
#include "net/dns_client.hpp"
#include "postfix/policy_answer.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::policy {

// At most this many distinct MX hosts (lowest preference first) get a TLSA lookup: Postfix
// tries at most smtp_mx_address_limit (default 5) addresses, and a hostile MX RRset must not
// turn one query into hundreds of lookups.
inline constexpr std::size_t MaxDaneHosts = 10;
// How long a DANE state is cached: the smallest TTL of the answers it came from, within
// these bounds; failures and bogus answers are asked again after the minimum.
inline constexpr std::uint32_t MinDaneTtl = 60;
inline constexpr std::uint32_t MaxDaneTtl = 3600;

struct DaneHost {
  std::string host;       // as in the MX record (the domain itself for an implicit MX)
  net::TlsaAnswer tlsa;   // the answer for _25._tcp.<host>
  std::size_t usable = 0; // records usable for DANE: usableTlsaRecord()
};

struct DaneOutcome {
  cache::DaneState state = cache::DaneState::Unchecked;
  net::MxAnswer mx;          // as answered (for --query)
  bool implicit_mx = false;  // secure NODATA for MX: the domain is its own MX host
  std::vector<DaneHost> hosts;
  std::uint32_t ttl = 0;     // seconds the state may be cached (MinDaneTtl..MaxDaneTtl)
  std::string detail;        // why this state, for logs and --query
};

std::string_view daneStateName(cache::DaneState state) noexcept;  // "usable", "bogus", ...

// RFC 7672 3.1: DANE-TA(2) and DANE-EE(3) only (PKIX-TA/EE are unusable for SMTP), selector
// Cert(0) or SPKI(1), matching type Full(0, non-empty), SHA2-256(1, 32 bytes) or SHA2-512(2,
// 64 bytes). A record that breaks these is ignored, as Postfix ignores it.
bool usableTlsaRecord(const net::TlsaRecord& record);
std::size_t usableTlsaCount(const std::vector<net::TlsaRecord>& records);

// The hosts whose TLSA records count: the MX hosts by preference (lowest first; equal
// preferences in answer order), duplicates and the null MX "." (RFC 7505) left out, at most
// MaxDaneHosts.
std::vector<std::string> daneHosts(const net::MxAnswer& mx);

// Steps of the check, pure. fromMx: the state the MX answer alone decides, or Unchecked when
// TLSA lookups must decide (secure MX RRset with hosts, or secure NODATA: implicit MX).
// fromHosts: the state once every host's TLSA answer is in (bogus before usable before a
// failed lookup before none), and the TTL.
void daneFromMx(DaneOutcome& outcome, std::string_view domain);
void daneFromHosts(DaneOutcome& outcome);

// Runs the check for `domain` on `dns` (which must validate: DnsClient::validatesDnssec()).
RequestHandle checkDane(net::DnsClient& dns, const std::string& domain,
                        std::function<void(DaneOutcome)> done);

// Whether the state makes DANE decide (the MTA-STS verdict must not): usable TLSA, a bogus
// answer (the RFC forbids falling back to MTA-STS), or a TLSA lookup that failed under a
// secure MX RRset (RFC 7672 2.2: that host must not be used unauthenticated).
bool daneApplies(cache::DaneState state) noexcept;

// The verdict next to the MTA-STS one: with DANE applying, `dane-only` (DaneOnly) where the
// MTA-STS verdict enforces, `dane` (Dane) without MTA-STS when dane_without_sts, else
// NOTFOUND (Postfix's own level); otherwise the MTA-STS verdict (Enforce or NoPolicy).
postfix::PolicyAnswer::Kind daneVerdict(cache::DaneState state, bool sts_enforced,
                                        bool dane_without_sts) noexcept;

}  // namespace mtasts::policy
