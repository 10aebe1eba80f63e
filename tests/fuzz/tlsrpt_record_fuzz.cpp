// libFuzzer target for the RFC 8460 _smtp._tls record parser (tlsrpt/tlsrpt_record.hpp).
// Input layout: '\n' separates TXT RRs (a control character no valid record contains).
// Invariants: an accepted record has 1 to MaxReportUris destinations, each with a valid
// hostname (mailto: an addr-spec whose domain it is; https: a target starting with '/');
// acceptance needs exactly one RR that looksLikeTlsRptRecord(); the RRset parser agrees
// with the single-record parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/domain.hpp"
#include "tlsrpt/tlsrpt_record.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void checkRecord(const mtasts::tlsrpt::TlsRptRecord& record) {
  using mtasts::tlsrpt::RuaKind;
  check(!record.rua.empty() && record.rua.size() <= mtasts::tlsrpt::MaxReportUris);
  for (const auto& u : record.rua) {
    check(mtasts::isValidHostname(u.host));
    check(u.uri.find_first_of(" \t,;!") == std::string::npos);
    if (u.kind == RuaKind::Mailto) {
      check(u.uri.rfind("mailto:", 0) == 0);
      const auto at = u.address.rfind('@');
      check(at != std::string::npos && at > 0);
      check(mtasts::equalsIgnoreCaseAscii(u.address.substr(at + 1), u.host));
      for (char c : u.address) check(c > 0x20 && c < 0x7f);
    } else {
      check(u.uri.rfind("https://", 0) == 0);
      check(!u.target.empty() && u.target.front() == '/');
      check(u.target.find('#') == std::string::npos);
      check(u.port != 0);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<std::string> rrs(1);
  for (char c : input) {
    if (c == '\n') {
      rrs.emplace_back();
    } else {
      rrs.back() += c;
    }
  }

  const auto whole = mtasts::tlsrpt::parseTlsRptRecord(input);
  if (whole) checkRecord(*whole);

  const auto result = mtasts::tlsrpt::parseTlsRptRecords(rrs);
  std::size_t count = 0;
  const std::string* chosen = nullptr;
  for (const auto& rr : rrs) {
    if (mtasts::tlsrpt::looksLikeTlsRptRecord(rr)) {
      ++count;
      chosen = &rr;
    }
  }
  if (result) {
    checkRecord(*result);
    check(count == 1);
    const auto single = mtasts::tlsrpt::parseTlsRptRecord(*chosen);
    check(single.has_value() && single->rua == result->rua);
  } else {
    check(result.error().code == mtasts::ErrorCode::NotFound ? count != 1 : count == 1);
  }
  return 0;
}
