// The merge rules shared by the day aggregate and the day store: rows stay sorted and
// distinct, a row past max_detail_rows goes to the overflow row of its result type, merges
// add totals and sources, and the entry digest tells descriptors and records apart.
#include <doctest/doctest.h>
#include <spdlog/fmt/fmt.h>

#include <set>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_entry.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

TEST_CASE("failure rows are counted per distinct detail and kept sorted") {
  std::vector<FailureCount> rows;
  CHECK_FALSE(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired), 1, 10));
  CHECK_FALSE(addFailureRow(rows, failureRow(TlsRptResultType::StarttlsNotSupported), 1, 10));
  CHECK_FALSE(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired), 2, 10));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].detail.result == TlsRptResultType::StarttlsNotSupported);
  CHECK(rows[0].sessions == 1);
  CHECK(rows[1].detail.result == TlsRptResultType::CertificateExpired);
  CHECK(rows[1].sessions == 3);
}

TEST_CASE("rows past max_detail_rows go to one overflow row per result type, and existing rows still count") {
  std::vector<FailureCount> rows;
  const std::size_t max_rows = 3;
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired, "198.51.100." + std::to_string(i)), 1, max_rows));
  }
  // Two more distinct expired rows and one mismatch: overflow, by result type.
  CHECK(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired, "198.51.100.50"), 1, max_rows));
  CHECK(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired, "198.51.100.51"), 4, max_rows));
  CHECK(addFailureRow(rows, failureRow(TlsRptResultType::CertificateHostMismatch), 1, max_rows));
  // A row that exists keeps counting in place.
  CHECK_FALSE(addFailureRow(rows, failureRow(TlsRptResultType::CertificateExpired, "198.51.100.0"), 1, max_rows));
  REQUIRE(rows.size() == 5);
  std::uint64_t total = 0;
  int overflow_rows = 0;
  for (const auto& row : rows) {
    total += row.sessions;
    if (isOverflowRow(row.detail)) {
      ++overflow_rows;
      CHECK(row.detail.failure_reason_code == OverflowReasonCode);
      CHECK(row.sessions == (row.detail.result == TlsRptResultType::CertificateExpired ? 5U : 1U));
    }
  }
  CHECK(overflow_rows == 2);
  CHECK(total == 3 + 5 + 1 + 1);
  for (std::size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].detail < rows[i].detail);
}

TEST_CASE("merging entries adds totals, sources and rows, with the row bound applied to the union") {
  DayEntry into = sampleEntry();
  DayEntry from = sampleEntry();
  from.counts.failures = {FailureCount{failureRow(TlsRptResultType::StarttlsNotSupported), 5},
                          FailureCount{failureRow(), 1}};
  from.counts.failed_sessions = 6;
  SUBCASE("room for every row") {
    CHECK(mergeDayEntry(into, from, 10) == 0);
    CHECK(into.counts.successful_sessions == 80);
    CHECK(into.counts.failed_sessions == 9);
    CHECK(into.sources == std::array<std::uint64_t, 3>{84, 2, 0});
    REQUIRE(into.counts.failures.size() == 3);
    CHECK(into.counts.failures[0].sessions == 5);  // starttls-not-supported sorts first
    CHECK(into.counts.failures[2].sessions == 3);  // expired: 2 + 1
  }
  SUBCASE("bound of two rows: the new row overflows") {
    CHECK(mergeDayEntry(into, from, 2) == 5);
    REQUIRE(into.counts.failures.size() == 3);
    CHECK(isOverflowRow(into.counts.failures[0].detail));
    CHECK(into.counts.failures[0].detail.result == TlsRptResultType::StarttlsNotSupported);
  }
}

TEST_CASE("counting a session adds one to its total, its source and each of its rows") {
  DayEntry e;
  CHECK(countSession(e, false, {}, SessionSource::Datagram, 10) == 0);
  CHECK(countSession(e, true, {failureRow(), failureRow()}, SessionSource::OwnFailure, 10) == 0);
  CHECK(e.counts.successful_sessions == 1);
  CHECK(e.counts.failed_sessions == 1);
  CHECK(e.sources == std::array<std::uint64_t, 3>{1, 1, 0});
  REQUIRE(e.counts.failures.size() == 1);
  CHECK(e.counts.failures[0].sessions == 2);  // sys4 counting: every detail entry adds one
}

TEST_CASE("counts saturate instead of wrapping") {
  DayEntry into = sampleEntry();
  into.counts.successful_sessions = UINT64_MAX - 1;
  DayEntry from = sampleEntry();
  mergeDayEntry(into, from, 10);
  CHECK(into.counts.successful_sessions == UINT64_MAX);
}

TEST_CASE("the entry digest is the one stored keys were made with") {
  // Store keys carry this digest: a change of its canonical bytes would orphan every stored
  // day. The expected value is SHA-256 over those bytes, computed outside mtastsd (Python's
  // hashlib): type byte, then each string and list length-prefixed with 8 bytes LE.
  const EntryDigest digest = entryDigest(stsPolicy(), "v=TLSRPTv1; rua=mailto:a@example.com");
  std::string hex;
  for (std::uint8_t b : digest) hex += fmt::format("{:02x}", b);
  CHECK(hex == "24e5b382b17c0aa9aa54e8ca1d51ca22");
}

TEST_CASE("the entry digest differs for every part of the descriptor and the record") {
  const PolicyDescriptor base = stsPolicy();
  const std::string record = "v=TLSRPTv1; rua=mailto:a@example.com";
  std::set<EntryDigest> seen{entryDigest(base, record)};
  auto expectNew = [&](const PolicyDescriptor& p, const std::string& r, const char* what) {
    CAPTURE(what);
    CHECK(seen.insert(entryDigest(p, r)).second);
  };
  PolicyDescriptor p = base;
  p.type = PolicyType::Tlsa;
  expectNew(p, record, "type");
  p = base;
  p.domain = "example.net";
  expectNew(p, record, "domain");
  p = base;
  p.strings.back() = "max_age: 86401";
  expectNew(p, record, "strings");
  p = base;
  p.strings = {"version: STSv1mode: enforce"};  // joined strings are not the same list
  expectNew(p, record, "string boundaries");
  p = base;
  p.mx_hosts.push_back("*.example.com");
  expectNew(p, record, "mx");
  p = base;
  p.mx_hosts.clear();
  p.strings.push_back("mx.example.com");  // moved from mx to strings
  expectNew(p, record, "mx moved to strings");
  expectNew(base, "", "record");
  CHECK(entryDigest(base, record) == entryDigest(stsPolicy(), record));  // stable
}
