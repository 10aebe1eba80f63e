// The --read-reports output of a ReportDigest: a text for people and a JSON document for
// scripts with the same content (schema in the mtastsd(8) text; member names are RFC 8460's
// where one exists). Deterministic: groups by organization then day, policies by descriptor,
// failure rows by count (largest first) then by their fields. Strings from reports are shown
// with control bytes escaped and cut at 200 bytes in the text; the JSON keeps them whole.
// Pure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tlsrpt/report_digest.hpp"
#include "tlsrpt/report_intake.hpp"

namespace mtasts::tlsrpt {

struct ReadNote {
  NoteKind kind = NoteKind::Skipped;
  std::string where;
  std::string reason;
};

struct ReadTally {
  std::size_t skipped = 0;
  std::size_t ignored = 0;
  std::vector<ReadNote> notes;  // every note, in order (kept for the JSON output only)
};

// One line, "<where>: <kind>: <reason>", control bytes in where and reason as \xNN.
std::string formatNoteLine(const ReadNote& note);

// "mode enforce, max_age 86400" for sts, "2 TLSA records: 3 1 1 0123..." for tlsa, "" else.
std::string summarizePolicyStrings(const PolicyDescriptor& policy);

std::string formatDigestText(const ReportDigest& digest, const ReadTally& tally);
std::string formatDigestJson(const ReportDigest& digest, const ReadTally& tally);

}  // namespace mtasts::tlsrpt
