// libFuzzer target for the RFC 8461 TXT record parser (sts/txt_record.hpp).
// Input layout: '\n' separates TXT RRs, 0x1f separates the character-strings of one RR
// (both are control characters, which no valid record contains, so nothing is lost).
// Invariants: an accepted id is 1 to 32 letters or digits; acceptance needs exactly one
// RR that looksLikeStsRecord(); the RRset parser agrees with the single-record parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sts/txt_record.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<std::vector<std::string>> rrs(1);
  rrs.back().emplace_back();
  for (char c : input) {
    if (c == '\n') {
      rrs.emplace_back(1);
    } else if (c == '\x1f') {
      rrs.back().emplace_back();
    } else {
      rrs.back().back() += c;
    }
  }

  const auto whole = mtasts::sts::parseTxtRecord(input);
  if (whole) {
    check(mtasts::sts::isValidStsId(whole->id));
    check(input.find(whole->id) != std::string_view::npos);
  }

  const auto result = mtasts::sts::parseTxtRecords(rrs);
  std::size_t sts_count = 0;
  std::string chosen;
  for (const auto& rr : rrs) {
    std::string joined;
    for (const auto& part : rr) joined += part;
    if (mtasts::sts::looksLikeStsRecord(joined)) {
      ++sts_count;
      chosen = joined;
    }
  }
  if (result) {
    const std::string& id = result->id;
    check(!id.empty() && id.size() <= 32);
    for (char c : id) check(isAlnum(c));
    check(sts_count == 1);
    const auto single = mtasts::sts::parseTxtRecord(chosen);
    check(single.has_value() && single->id == id);
  } else {
    check(result.error().code == mtasts::ErrorCode::NotFound ? sts_count != 1 : sts_count == 1);
  }
  return 0;
}
