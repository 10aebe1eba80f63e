// Test helper: writes a Datagram the way libtlsrpt 0.5 writes one (member order, the space
// after a string member's colon, "%d" numbers, NULL/empty left out, its escaping: '"', '\',
// bytes below 0x20 and 0x7f escaped, bytes >= 0x80 raw). Used to check that the parser reads
// every fixture exactly as libtlsrpt meant it (parse, write, compare bytes), to build
// datagrams at the bounds, and by the fuzz target for its round-trip property.
// Header-only, test code only: the daemon never writes datagrams.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/datagram.hpp"

namespace mtasts::tlsrpt::testing {

inline int wireCode(PolicyType type) {
  switch (type) {
    case PolicyType::Tlsa: return 1;
    case PolicyType::Sts: return 2;
    case PolicyType::NoPolicyFound: return 9;
  }
  return 9;
}

inline int wireCode(TlsRptResultType type) {
  using R = TlsRptResultType;
  switch (type) {
    case R::StarttlsNotSupported: return 201;
    case R::CertificateHostMismatch: return 202;
    case R::CertificateNotTrusted: return 203;
    case R::CertificateExpired: return 204;
    case R::ValidationFailure: return 205;
    case R::StsPolicyFetchError: return 301;
    case R::StsPolicyInvalid: return 302;
    case R::StsWebpkiInvalid: return 303;
    case R::TlsaInvalid: return 304;
    case R::DnssecInvalid: return 305;
    case R::DaneRequired: return 306;
  }
  return 205;
}

inline void appendEscaped(std::string& out, std::string_view text) {
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (b < 0x20 || b == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", b);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
}

// ,"name": "value" (first = no leading comma), skipped when value is empty (NULL).
inline void appendMember(std::string& out, std::string_view name, std::string_view value,
                         bool first = false) {
  if (value.empty() && !first) return;
  if (!first) out += ',';
  out += '"';
  out += name;
  out += "\": \"";
  appendEscaped(out, value);
  out += '"';
}

inline void appendArray(std::string& out, std::string_view name,
                        const std::vector<std::string>& items) {
  if (items.empty()) return;
  out += ",\"";
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    appendEscaped(out, items[i]);
    out += '"';
  }
  out += ']';
}

inline std::string writeLibtlsrptDatagram(const Datagram& datagram) {
  std::string out = "{";
  appendMember(out, "dpv", "1", true);
  out += ',';
  appendMember(out, "d", datagram.domain, true);
  out += ',';
  appendMember(out, "pr", datagram.tlsrpt_record, true);
  for (std::size_t i = 0; i < datagram.policies.size(); ++i) {
    const DatagramPolicy& p = datagram.policies[i];
    out += i == 0 ? ",\"policies\":[{" : ",{";
    out += "\"policy-type\":" + std::to_string(wireCode(p.policy.type));
    appendMember(out, "policy-domain", p.policy.domain);
    appendArray(out, "policy-string", p.policy.strings);
    appendArray(out, "mx-host", p.policy.mx_hosts);
    for (std::size_t k = 0; k < p.failure_details.size(); ++k) {
      const DatagramFailureDetail& d = p.failure_details[k];
      out += k == 0 ? ",\"failure-details\":[{" : ",{";
      out += "\"c\":" + std::to_string(wireCode(d.result));
      appendMember(out, "s", d.sending_mta_ip);
      appendMember(out, "n", d.receiving_mx_hostname);
      appendMember(out, "h", d.ehlo_response);
      appendMember(out, "r", d.receiving_ip);
      appendMember(out, "a", d.additional_information);
      appendMember(out, "f", d.failure_reason_code);
      out += '}';
      if (k + 1 == p.failure_details.size()) out += ']';
    }
    out += ",\"t\":" + std::to_string(p.failure_count) + ",\"f\":" + (p.failed ? "1" : "0") + "}";
  }
  if (!datagram.policies.empty()) out += ']';
  out += '}';
  return out;
}

}  // namespace mtasts::tlsrpt::testing
