// PolicyRecord: what the store keeps per policy domain (RFC 8461 section 3.3 cache).
// Plain value; encoded by record_codec.hpp into a versioned byte string for LMDB.
#pragma once

#include "common/clock.hpp"
#include "common/tlsrpt_result_type.hpp"
#include "sts/policy.hpp"

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
};

}  // namespace mtasts::cache
