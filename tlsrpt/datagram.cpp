#include "tlsrpt/datagram.hpp"

#include <arpa/inet.h>
#include <spdlog/fmt/fmt.h>

#include <array>
#include <optional>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/json_cursor.hpp"

// The wire format, byte for byte as libtlsrpt 0.5 writes it (one line, no newline):
//   {"dpv": "1","d": "<domain>","pr": "<record>","policies":[{"policy-type":2,
//    "policy-domain": "<d>","policy-string":["..."],"mx-host":["..."],
//    "failure-details":[{"c":202,"s": "...","n": "...","h": "...","r": "...","a": "...",
//    "f": "..."}],"t":1,"f":1},{...}]}
// String members are written as "name": "value" (a space after the colon), numbers as
// "name":%d. NULL strings and empty arrays are left out. Escaped: '"', '\', bytes below
// 0x20 (\b \t \n \f \r, otherwise \u00XX) and 0x7f (\u007f); bytes >= 0x80 are copied
// raw, so the datagram is only UTF-8 if its inputs were. This parser does not depend on
// member order or spacing: any JSON text with the same content parses the same.

namespace mtasts::tlsrpt {
namespace {

using namespace std::string_view_literals;

std::string quoted(std::string_view text) { return "\"" + escapeForLog(text, 80) + "\""; }

std::optional<PolicyType> policyTypeFromCode(std::int64_t code) noexcept {
  switch (code) {
    case 1: return PolicyType::Tlsa;
    case 2: return PolicyType::Sts;
    case 9: return PolicyType::NoPolicyFound;
    default: return std::nullopt;
  }
}

std::optional<TlsRptResultType> resultTypeFromCode(std::int64_t code) noexcept {
  using Rt = TlsRptResultType;
  switch (code) {
    case 201: return Rt::StarttlsNotSupported;
    case 202: return Rt::CertificateHostMismatch;
    case 203: return Rt::CertificateNotTrusted;
    case 204: return Rt::CertificateExpired;
    case 205: return Rt::ValidationFailure;
    case 301: return Rt::StsPolicyFetchError;
    case 302: return Rt::StsPolicyInvalid;
    case 303: return Rt::StsWebpkiInvalid;
    case 304: return Rt::TlsaInvalid;
    case 305: return Rt::DnssecInvalid;
    case 306: return Rt::DaneRequired;
    default: return std::nullopt;
  }
}

// Lower-case, drop one trailing dot (as sys4's collector normalises "d"), then check.
bool normaliseHostname(std::string& name) {
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return isValidHostname(name);
}

bool isIpAddress(const std::string& text) {
  std::array<unsigned char, 16> addr{};
  return inet_pton(AF_INET, text.c_str(), addr.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), addr.data()) == 1;
}

bool isMxPattern(std::string_view pattern) {
  if (pattern.substr(0, 2) == "*.") pattern.remove_prefix(2);
  return isValidHostname(pattern);
}

// Bits for "seen this member" per object, to refuse repeated members.
namespace bit {
constexpr std::uint32_t Dpv = 1u << 0, D = 1u << 1, Pr = 1u << 2, Policies = 1u << 3;
constexpr std::uint32_t PolicyType = 1u << 4, PolicyDomain = 1u << 5, PolicyString = 1u << 6,
                        MxHost = 1u << 7, FailureDetails = 1u << 8, T = 1u << 9, F = 1u << 10;
constexpr std::uint32_t C = 1u << 11, S = 1u << 12, N = 1u << 13, H = 1u << 14, R = 1u << 15,
                        A = 1u << 16, Reason = 1u << 17;
}  // namespace bit

class Parser {
 public:
  explicit Parser(std::string_view bytes) : cur_(bytes) {}

  Result<Datagram> run() {
    Datagram datagram;
    if (!parseTop(datagram)) return Unexpected{cur_.error()};
    if (!cur_.atEnd()) {
      cur_.fail("trailing bytes after the datagram's JSON object");
      return Unexpected{cur_.error()};
    }
    datagram.warnings.invalid_utf8_replaced = cur_.replacedInvalidUtf8();
    datagram.warnings.unknown_members_skipped = unknown_;
    return datagram;
  }

 private:
  // Where the cursor is, for error reasons only: built when an error is reported.
  enum class Level { Top, Policy, Detail };
  std::string here() const {
    switch (level_) {
      case Level::Top: return "datagram";
      case Level::Policy: return fmt::format("policies[{}]", policy_index_);
      case Level::Detail: return fmt::format("policies[{}].failure-details[{}]", policy_index_, detail_index_);
    }
    return "datagram";
  }
  bool fail(std::string_view reason) { return cur_.fail(fmt::format("{}: {}", here(), reason)); }

  bool once(std::uint32_t& seen, std::uint32_t member) {
    if ((seen & member) != 0) return fail(fmt::format("repeated member {}", quoted(key_)));
    seen |= member;
    return true;
  }

  bool skipUnknown(int depth) {
    unknown_ = true;
    return cur_.skipValue(depth);
  }

  bool typed(char want, std::string_view what) {
    const char c = cur_.peek();
    if (c == want) return true;
    const std::string_view kind = want == '"' ? "a string" : want == '[' ? "an array" : "an object";
    if (cur_.atEnd()) return fail(fmt::format("{}: truncated, expected {}", what, kind));
    return fail(fmt::format("{}: expected {}", what, kind));
  }

  bool readString(std::string& out, std::string_view what) {
    return typed('"', what) && cur_.readString(out, MaxStringBytes);
  }

  bool readInteger(std::int64_t& out, std::string_view what) {
    const char c = cur_.peek();
    if (c != '-' && (c < '0' || c > '9')) {
      if (cur_.atEnd()) return fail(fmt::format("{}: truncated, expected a number", what));
      return fail(fmt::format("{}: expected a number", what));
    }
    return cur_.readInteger(out);
  }

  bool parseTop(Datagram& out) {
    if (!cur_.openObject("datagram")) return false;
    std::uint32_t seen = 0;
    bool first = true;
    bool end = false;
    while (cur_.nextMember(first, key_, end) && !end) {
      if (name() == "dpv"sv) {
        if (!once(seen, bit::Dpv) || !readString(value_, "dpv")) return false;
        // Checked at once: libtlsrpt writes dpv first, so a later version is named as such
        // rather than as whatever its first unknown shape happens to break.
        if (value_ != "1") {
          return fail(fmt::format("unsupported datagram protocol version {}", quoted(value_)));
        }
      } else if (name() == "d"sv) {
        if (!once(seen, bit::D) || !readString(out.domain, "d")) return false;
        if (!normaliseHostname(out.domain)) {
          return fail(fmt::format("d is not a valid domain name: {}", quoted(out.domain)));
        }
      } else if (name() == "pr"sv) {
        if (!once(seen, bit::Pr) || !readString(out.tlsrpt_record, "pr")) return false;
      } else if (name() == "policies"sv) {
        if (!once(seen, bit::Policies) || !parsePolicies(out.policies)) return false;
      } else if (!skipUnknown(1)) {
        return false;
      }
    }
    if (cur_.failed()) return false;
    if ((seen & bit::Dpv) == 0) return cur_.fail("missing member \"dpv\" (datagram protocol version)");
    if ((seen & bit::D) == 0) return cur_.fail("missing member \"d\" (domain)");
    if ((seen & bit::Pr) == 0) return cur_.fail("missing member \"pr\" (TLSRPT record)");
    if ((seen & bit::Policies) == 0) return cur_.fail("missing member \"policies\"");
    for (const auto& p : out.policies) {
      if (p.failure_count != p.failure_details.size()) out.warnings.failure_count_mismatch = true;
      if (!p.failed && !p.failure_details.empty()) out.warnings.details_on_success = true;
    }
    return true;
  }

  bool parsePolicies(std::vector<DatagramPolicy>& out) {
    if (!typed('[', "policies") || !cur_.openArray("policies")) return false;
    bool first = true;
    bool end = false;
    while (cur_.nextElement(first, end) && !end) {
      if (out.size() == MaxPolicies) {
        return cur_.fail(ErrorCode::TooLarge, fmt::format("datagram: more than {} policies", MaxPolicies));
      }
      policy_index_ = out.size();
      if (!parsePolicy(out.emplace_back())) return false;
    }
    if (cur_.failed()) return false;
    if (out.empty()) return cur_.fail("policies: empty (libtlsrpt never sends a datagram without one)");
    return true;
  }

  bool parsePolicy(DatagramPolicy& out) {
    level_ = Level::Policy;
    if (!typed('{', "policy") || !cur_.openObject("policy")) return false;
    std::uint32_t seen = 0;
    bool first = true;
    bool end = false;
    std::int64_t number = 0;
    while (cur_.nextMember(first, key_, end) && !end) {
      if (name() == "policy-type"sv) {
        if (!once(seen, bit::PolicyType) || !readInteger(number, "policy-type")) return false;
        const auto type = policyTypeFromCode(number);
        if (!type) return fail(fmt::format("policy-type {} is not 1, 2 or 9", number));
        out.policy.type = *type;
      } else if (name() == "policy-domain"sv) {
        if (!once(seen, bit::PolicyDomain) || !readString(out.policy.domain, "policy-domain")) return false;
        if (!out.policy.domain.empty() && !normaliseHostname(out.policy.domain)) {
          return fail(fmt::format("invalid policy-domain {}", quoted(out.policy.domain)));
        }
      } else if (name() == "policy-string"sv) {
        if (!once(seen, bit::PolicyString) ||
            !readStrings(out.policy.strings, MaxPolicyStrings, "policy-string")) {
          return false;
        }
      } else if (name() == "mx-host"sv) {
        if (!once(seen, bit::MxHost) || !readStrings(out.policy.mx_hosts, MaxMxHosts, "mx-host")) {
          return false;
        }
        for (const auto& mx : out.policy.mx_hosts) {
          if (!isMxPattern(mx)) return fail(fmt::format("invalid mx-host {}", quoted(mx)));
        }
      } else if (name() == "failure-details"sv) {
        if (!once(seen, bit::FailureDetails) || !parseFailureDetails(out.failure_details)) return false;
      } else if (name() == "t"sv) {
        if (!once(seen, bit::T) || !readInteger(number, "t")) return false;
        if (number < 0) return fail(fmt::format("negative t {}", number));
        out.failure_count = static_cast<std::uint32_t>(number);
      } else if (name() == "f"sv) {
        if (!once(seen, bit::F) || !readInteger(number, "f")) return false;
        if (number != 0 && number != 1) return fail(fmt::format("f {} is not 0 or 1", number));
        out.failed = number == 1;
      } else if (!skipUnknown(3)) {
        return false;
      }
    }
    if (cur_.failed()) return false;
    if ((seen & bit::PolicyType) == 0) return fail("missing member \"policy-type\"");
    if ((seen & bit::T) == 0) return fail("missing member \"t\" (failure count)");
    if ((seen & bit::F) == 0) return fail("missing member \"f\" (final result)");
    level_ = Level::Top;
    return true;
  }

  bool readStrings(std::vector<std::string>& out, std::size_t max, std::string_view what) {
    if (!typed('[', what) || !cur_.openArray(what)) return false;
    bool first = true;
    bool end = false;
    while (cur_.nextElement(first, end) && !end) {
      if (out.size() == max) return cur_.fail(ErrorCode::TooLarge, fmt::format("{}: more than {} {} entries", here(), max, what));
      if (!readString(out.emplace_back(), what)) return false;
    }
    return !cur_.failed();
  }

  bool parseFailureDetails(std::vector<DatagramFailureDetail>& out) {
    if (!typed('[', "failure-details") || !cur_.openArray("failure-details")) return false;
    bool first = true;
    bool end = false;
    while (cur_.nextElement(first, end) && !end) {
      if (out.size() == MaxFailureDetails) {
        return cur_.fail(ErrorCode::TooLarge, fmt::format("{}: more than {} failure-details", here(), MaxFailureDetails));
      }
      detail_index_ = out.size();
      level_ = Level::Detail;
      if (!parseFailureDetail(out.emplace_back())) return false;
      level_ = Level::Policy;
    }
    return !cur_.failed();
  }

  bool parseFailureDetail(DatagramFailureDetail& out) {
    if (!typed('{', "failure detail") || !cur_.openObject("failure detail")) return false;
    std::uint32_t seen = 0;
    bool first = true;
    bool end = false;
    while (cur_.nextMember(first, key_, end) && !end) {
      if (name() == "c"sv) {
        std::int64_t code = 0;
        if (!once(seen, bit::C) || !readInteger(code, "c")) return false;
        const auto result = resultTypeFromCode(code);
        if (!result) return fail(fmt::format("unknown result code {}", code));
        out.result = *result;
      } else if (name() == "s"sv) {
        if (!once(seen, bit::S) || !readString(out.sending_mta_ip, "s")) return false;
        if (!out.sending_mta_ip.empty() && !isIpAddress(out.sending_mta_ip)) {
          return fail(fmt::format("s is not an IP address: {}", quoted(out.sending_mta_ip)));
        }
      } else if (name() == "n"sv) {
        if (!once(seen, bit::N) || !readString(out.receiving_mx_hostname, "n")) return false;
        auto& n = out.receiving_mx_hostname;
        if (!n.empty() && !isIpAddress(n) && !normaliseHostname(n)) {
          return fail(fmt::format("n is not a hostname or IP address: {}", quoted(n)));
        }
      } else if (name() == "h"sv) {
        if (!once(seen, bit::H) || !readString(out.ehlo_response, "h")) return false;
      } else if (name() == "r"sv) {
        if (!once(seen, bit::R) || !readString(out.receiving_ip, "r")) return false;
        if (!out.receiving_ip.empty() && !isIpAddress(out.receiving_ip)) {
          return fail(fmt::format("r is not an IP address: {}", quoted(out.receiving_ip)));
        }
      } else if (name() == "a"sv) {
        if (!once(seen, bit::A) || !readString(out.additional_information, "a")) return false;
      } else if (name() == "f"sv) {
        if (!once(seen, bit::Reason) || !readString(out.failure_reason_code, "f")) return false;
      } else if (!skipUnknown(5)) {
        return false;
      }
    }
    if (cur_.failed()) return false;
    if ((seen & bit::C) == 0) return fail("missing member \"c\" (result code)");
    return true;
  }

  // The current member name; compared as string_view so that each test is a length check
  // and an inlined fixed-size compare.
  std::string_view name() const noexcept { return key_; }

  JsonCursor cur_;
  std::string key_;
  std::string value_;
  Level level_ = Level::Top;
  std::size_t policy_index_ = 0;
  std::size_t detail_index_ = 0;
  bool unknown_ = false;
};

}  // namespace

Result<Datagram> parseDatagram(std::string_view bytes) {
  if (bytes.size() > MaxDatagramBytes) {
    return fail(ErrorCode::TooLarge,
                fmt::format("datagram of {} bytes, more than {}", bytes.size(), MaxDatagramBytes));
  }
  if (bytes.empty()) return fail(ErrorCode::InvalidInput, "empty datagram");
  return Parser(bytes).run();
}

}  // namespace mtasts::tlsrpt
