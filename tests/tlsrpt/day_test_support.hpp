// Helpers for the day aggregate, day store, committer and collector tests: sample policies,
// failure rows and entries, a temporary state_dir, and a diff that says what differs.
#pragma once

#include "tests/tlsrpt/temp_dir.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tlsrpt/datagram.hpp"
#include "tlsrpt/datagram_sessions.hpp"
#include "tlsrpt/day_entry.hpp"

namespace mtasts::tlsrpt::test {

inline PolicyDescriptor stsPolicy(const std::string& domain = "example.com") {
  PolicyDescriptor p;
  p.type = PolicyType::Sts;
  p.domain = domain;
  p.strings = {"version: STSv1", "mode: enforce", "mx: mx." + domain, "max_age: 86400"};
  p.mx_hosts = {"mx." + domain};
  return p;
}

inline FailureDetail failureRow(TlsRptResultType result = TlsRptResultType::CertificateExpired,
                                const std::string& receiving_ip = "198.51.100.7") {
  FailureDetail d;
  d.result = result;
  d.sending_mta_ip = "192.0.2.25";
  d.receiving_mx_hostname = "mx.example.com";
  d.receiving_mx_helo = "mx.example.com";
  d.receiving_ip = receiving_ip;
  d.failure_reason_code = "certificate_has_expired";
  return d;
}

inline DayEntry sampleEntry(UtcDay day = UtcDay{20'000}, const std::string& domain = "example.com") {
  DayEntry e;
  e.day = day;
  e.domain = domain;
  e.tlsrpt_record = "v=TLSRPTv1; rua=mailto:tlsrpt@" + domain;
  e.counts.policy = stsPolicy(domain);
  e.counts.successful_sessions = 40;
  e.counts.failed_sessions = 3;
  e.counts.failures = {FailureCount{failureRow(TlsRptResultType::CertificateHostMismatch), 1},
                       FailureCount{failureRow(), 2}};
  e.sources = {42, 1, 0};
  return e;
}

// Empty when equal, else the first field that differs.
inline std::string entryDiff(const DayEntry& got, const DayEntry& want) {
  if (got.day != want.day) return "day";
  if (got.domain != want.domain) return "domain: " + got.domain + " vs " + want.domain;
  if (got.tlsrpt_record != want.tlsrpt_record) return "tlsrpt_record";
  if (got.counts.policy != want.counts.policy) return "policy";
  if (got.counts.successful_sessions != want.counts.successful_sessions) {
    return "successful: " + std::to_string(got.counts.successful_sessions) + " vs " +
           std::to_string(want.counts.successful_sessions);
  }
  if (got.counts.failed_sessions != want.counts.failed_sessions) {
    return "failed: " + std::to_string(got.counts.failed_sessions) + " vs " +
           std::to_string(want.counts.failed_sessions);
  }
  if (got.counts.failures.size() != want.counts.failures.size()) {
    return "rows: " + std::to_string(got.counts.failures.size()) + " vs " +
           std::to_string(want.counts.failures.size());
  }
  for (std::size_t i = 0; i < got.counts.failures.size(); ++i) {
    if (got.counts.failures[i].detail != want.counts.failures[i].detail) return "row " + std::to_string(i) + " detail";
    if (got.counts.failures[i].sessions != want.counts.failures[i].sessions) {
      return "row " + std::to_string(i) + " count: " + std::to_string(got.counts.failures[i].sessions) + " vs " +
             std::to_string(want.counts.failures[i].sessions);
    }
  }
  if (got.sources != want.sources) return "sources";
  return "";
}

// A fixture datagram's bytes ("" when it cannot be read: no doctest here, forked children
// use it too).
inline std::string fixtureBytes(const std::string& name) {
  const std::string path = std::string(MTASTS_TLSRPT_FIXTURES) + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

// The sessions of a fixture datagram (empty when it does not parse).
inline DatagramSessions fixtureSessions(const std::string& name) {
  auto parsed = parseDatagram(fixtureBytes(name));
  if (!parsed) return {};
  return sessionsOf(std::move(*parsed));
}

}  // namespace mtasts::tlsrpt::test
