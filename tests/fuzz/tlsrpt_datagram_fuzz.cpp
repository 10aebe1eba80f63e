// libFuzzer target for the libtlsrpt datagram parser (tlsrpt/datagram.hpp), the sessions
// it counts (tlsrpt/datagram_sessions.hpp) and the EHLO name rule (tlsrpt/ehlo_name.hpp).
// The whole input is one datagram. Invariants for an accepted datagram: every string is
// valid UTF-8 and within MaxStringBytes; the counts are within their bounds; domains are
// lower-case hostnames; writing it back in libtlsrpt's format and parsing that gives the
// same datagram; sessionsOf gives one session per policy, each with a domain, one row per
// failure detail and a HELO name that is empty or a hostname / address literal.
// A refusal always has a reason. heloNameFromEhlo on the raw bytes never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/domain.hpp"
#include "tests/tlsrpt/libtlsrpt_writer.hpp"
#include "tlsrpt/datagram.hpp"
#include "tlsrpt/datagram_sessions.hpp"
#include "tlsrpt/ehlo_name.hpp"

namespace {

using namespace mtasts::tlsrpt;

void check(bool ok) {
  if (!ok) std::abort();
}

// RFC 3629 UTF-8, written independently of the parser's decoder.
bool isUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if ((b & 0xe0) == 0xc0) { cp = b & 0x1fu; n = 1; }
    else if ((b & 0xf0) == 0xe0) { cp = b & 0x0fu; n = 2; }
    else if ((b & 0xf8) == 0xf0) { cp = b & 0x07u; n = 3; }
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3fu);
    }
    const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

void checkString(const std::string& s) {
  check(s.size() <= MaxStringBytes);
  check(isUtf8(s));
  check(s.find('\0') == std::string::npos);
}

void checkDomain(const std::string& d) {
  check(mtasts::isValidHostname(d));
  check(d == mtasts::toLowerAscii(d));
}

void checkAccepted(const Datagram& d) {
  checkDomain(d.domain);
  checkString(d.tlsrpt_record);
  check(!d.policies.empty() && d.policies.size() <= MaxPolicies);
  bool mismatch = false;
  bool details_on_success = false;
  for (const auto& p : d.policies) {
    if (!p.policy.domain.empty()) checkDomain(p.policy.domain);
    check(p.policy.strings.size() <= MaxPolicyStrings);
    check(p.policy.mx_hosts.size() <= MaxMxHosts);
    check(p.failure_details.size() <= MaxFailureDetails);
    for (const auto& s : p.policy.strings) checkString(s);
    for (const auto& m : p.policy.mx_hosts) {
      checkString(m);
      check(mtasts::isValidHostname(m.substr(m.rfind("*.", 0) == 0 ? 2 : 0)));
    }
    for (const auto& fd : p.failure_details) {
      for (const auto* s : {&fd.sending_mta_ip, &fd.receiving_mx_hostname, &fd.ehlo_response,
                            &fd.receiving_ip, &fd.additional_information, &fd.failure_reason_code}) {
        checkString(*s);
      }
      if (!fd.sending_mta_ip.empty()) check(mtasts::isIpAddressLiteral(fd.sending_mta_ip));
      if (!fd.receiving_ip.empty()) check(mtasts::isIpAddressLiteral(fd.receiving_ip));
      const std::string& n = fd.receiving_mx_hostname;
      if (!n.empty() && !mtasts::isIpAddressLiteral(n)) checkDomain(n);
    }
    mismatch = mismatch || p.failure_count != p.failure_details.size();
    details_on_success = details_on_success || (!p.failed && !p.failure_details.empty());
  }
  check(d.warnings.failure_count_mismatch == mismatch);
  check(d.warnings.details_on_success == details_on_success);

  // Round trip through libtlsrpt's format (unless rewriting grew it past the bound: each
  // replaced byte became 3, and dropped whitespace or unknown members never grow it).
  const std::string written = testing::writeLibtlsrptDatagram(d);
  if (written.size() <= MaxDatagramBytes) {
    const auto again = parseDatagram(written);
    check(again.has_value());
    Datagram want = d;
    want.warnings.invalid_utf8_replaced = false;
    want.warnings.unknown_members_skipped = false;
    check(*again == want);
  }

  const DatagramSessions ds = sessionsOf(d);
  check(ds.report_domain == d.domain && ds.tlsrpt_record == d.tlsrpt_record);
  check(ds.sessions.size() == d.policies.size());
  for (std::size_t i = 0; i < ds.sessions.size(); ++i) {
    const auto& s = ds.sessions[i];
    check(!s.policy.domain.empty());
    check(s.failed == d.policies[i].failed);
    check(s.failure_details.size() == d.policies[i].failure_details.size());
    for (const auto& row : s.failure_details) {
      const std::string& h = row.receiving_mx_helo;
      check(h.empty() || mtasts::isValidHostname(h) || (h.front() == '[' && h.back() == ']'));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto datagram = parseDatagram(bytes);
  if (datagram) {
    checkAccepted(*datagram);
  } else {
    check(!datagram.error().detail.empty());
  }
  (void)heloNameFromEhlo(bytes);
  return 0;
}
