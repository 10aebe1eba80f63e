// PolicyRecord: what the store keeps per policy domain (RFC 8461 section 3.3 cache).
// Plain value; encoded by record_codec.hpp into a versioned byte string for LMDB.
#pragma once

#include "common/clock.hpp"
#include "common/tlsrpt_result_type.hpp"
#include "sts/policy.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace mtasts::cache {

enum class EntryKind : std::uint8_t {
  Policy = 1,        // a fetched, valid policy (any mode); see `policy`
  NoPolicy = 2,      // negative entry: no _mta-sts record (or no usable one)
  LookupFailed = 3,  // negative entry: DNS failed and nothing valid was cached
};

struct FailureInfo {
  UnixSeconds at = 0;
  TlsRptResultType type = TlsRptResultType::StsPolicyFetchError;
  std::string reason;  // human text, bounded by the writer
  std::string txt_id;  // the id whose fetch failed (retry of the same id waits 5 minutes)
};

// DANE (RFC 7672) as last looked up for the domain: whether its MX RRset and its MX hosts'
// _25._tcp TLSA RRsets are DNSSEC-secure and usable (policy/dane_check.hpp decides the state,
// policy/ the verdict). Kept with the MTA-STS entry, so a warm lookup stays one read.
enum class DaneState : std::uint8_t {
  Unchecked = 0,   // not looked up (dane = off, or an entry written before DANE checks)
  Insecure = 1,    // the MX RRset is not DNSSEC-secure (unsigned zone, no validation): no DANE
  NoTlsa = 2,      // secure MX RRset, but no MX host has a usable secure TLSA RRset
  Usable = 3,      // secure MX RRset, at least one MX host with usable secure TLSA records
  Bogus = 4,       // the MX answer or a TLSA answer failed DNSSEC validation
  TlsaFailed = 5,  // secure MX RRset, a TLSA lookup failed (not bogus): DANE may apply
  MxFailed = 6,    // the MX lookup failed (not bogus): whether DANE applies is unknown
};
inline constexpr std::uint8_t MaxDaneState = 6;

struct DaneInfo {
  DaneState state = DaneState::Unchecked;
  UnixSeconds checked_at = 0;  // when the lookups answered
  UnixSeconds expires_at = 0;  // checked_at + the smallest TTL of the answers (bounded)
  bool operator==(const DaneInfo&) const = default;
};

struct PolicyRecord {
  EntryKind kind = EntryKind::NoPolicy;
  // Policy: id of the TXT record the policy was fetched for. NoPolicy: set only when the
  // fetch of this id failed with nothing valid cached (last_failure says why; policy/ reports
  // such answers as fetch failures), else empty.
  std::string txt_id;
  // The parsed policy; its `lines` keep every line of the body, so the body itself is not
  // stored (TLS-RPT's policy-string is rebuilt from the lines). Empty for negative entries.
  sts::Policy policy;
  UnixSeconds fetched_at = 0;      // last successful fetch; only a fetch resets it
  UnixSeconds expires_at = 0;      // Policy: fetched_at + max_age; negative: end of negative ttl
  UnixSeconds txt_checked_at = 0;  // last TXT lookup that answered
  UnixSeconds last_used = 0;       // last query answered from this entry (batched writes)
  std::optional<FailureInfo> last_failure;
  DaneInfo dane;  // independent of `kind`: a domain without MTA-STS may do DANE
};

}  // namespace mtasts::cache
