// RFC 8461 section 3.1: the _mta-sts TXT record ("v=STSv1; id=...").
// Pure functions over bytes already received from DNS: no I/O, no state, any thread.
// Errors: ErrorCode::NotFound when the RRset holds no or several v=STSv1 records (the
// domain has no usable policy), ErrorCode::InvalidInput with a reason when the one
// v=STSv1 record breaks the RFC grammar. Untrusted text in reasons is escaped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "sts/policy.hpp"

namespace mtasts::sts {

// rrs: one entry per TXT RR, each RR as its character-strings, joined with nothing
// between. RRs that do not begin with the sts-version field followed by a field
// delimiter ("v=STSv1;", "v=STSv1 ;") are dropped; exactly one must remain.
Result<StsRecord> parseTxtRecords(const std::vector<std::vector<std::string>>& rrs);

// One record, its strings already joined. Checks the full RFC 8461 3.1 ABNF.
Result<StsRecord> parseTxtRecord(std::string_view joined);

// True when joined begins with "v=STSv1" *WSP ";" (the discard rule of RFC 8461 3.1).
bool looksLikeStsRecord(std::string_view joined) noexcept;

// sts-id: 1 to 32 ASCII letters or digits.
bool isValidStsId(std::string_view id) noexcept;

}  // namespace mtasts::sts
