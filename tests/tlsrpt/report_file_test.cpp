#include <doctest/doctest.h>

#include <set>
#include <string>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_files.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_naming.hpp"
#include "tlsrpt/report_validator.hpp"
#include "tlsrpt/utc_day.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test::fixturePath;
using mtasts::tlsrpt::test::readFile;
using mtasts::tlsrpt::test::sampleReport;

TEST_CASE("utcDayOf, dayStart and dayEnd cut time into whole UTC days") {
  CHECK(utcDayOf(0).days == 0);
  CHECK(utcDayOf(86399).days == 0);
  CHECK(utcDayOf(86400).days == 1);
  CHECK(utcDayOf(-1).days == -1);
  CHECK(utcDayOf(-86400).days == -1);
  CHECK(utcDayOf(-86401).days == -2);
  CHECK(dayStart(UtcDay{20786}) == 1795910400);
  CHECK(dayEnd(UtcDay{20786}) == 1795996799);
}

TEST_CASE("dates are written as RFC 3339 and RFC 5322 need them") {
  CHECK(formatDate(UtcDay{20786}) == "2026-11-29");
  CHECK(formatDate(UtcDay{-1}) == "1969-12-31");
  CHECK(formatDateTime(1795910400) == "2026-11-29T00:00:00Z");
  CHECK(formatDateTime(1795996799) == "2026-11-29T23:59:59Z");
  CHECK(formatDateTime(951782400) == "2000-02-29T00:00:00Z");
  CHECK(formatRfc5322Date(0) == "Thu, 1 Jan 1970 00:00:00 +0000");
  CHECK(formatRfc5322Date(1528637909) == "Sun, 10 Jun 2018 13:38:29 +0000");
  CHECK(formatRfc5322Date(4102444799) == "Thu, 31 Dec 2099 23:59:59 +0000");
}

TEST_CASE("parseUtcDay reads YYYY-MM-DD and refuses anything else") {
  const auto ok = parseUtcDay("2026-11-29");
  REQUIRE(ok.has_value());
  CHECK(ok->days == 20786);
  CHECK(parseUtcDay("1970-01-01")->days == 0);
  CHECK(parseUtcDay("2000-02-29")->days == 11016);
  for (const char* bad : {"2026-11-31", "2023-02-29", "2026-13-01", "2026-00-10", "2026-1-29",
                          "2026/11/29", "20261129", "1969-12-31", "2026-11-29T00", "+026-11-29",
                          " 2026-11-29", ""}) {
    CAPTURE(bad);
    const auto got = parseUtcDay(bad);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
  }
}

TEST_CASE("gzipCompress writes a deterministic gzip header and round-trips") {
  const auto json = writeReportJson(sampleReport());
  REQUIRE(json.has_value());
  const auto gz = gzipCompress(*json);
  REQUIRE(gz.has_value());
  REQUIRE(gz->size() > 18);
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>((*gz)[i]); };
  CHECK(byte(0) == 0x1f);  // ID1
  CHECK(byte(1) == 0x8b);  // ID2
  CHECK(byte(2) == 8);     // CM deflate
  CHECK(byte(3) == 0);     // FLG: no name, comment, extra, header CRC
  CHECK((byte(4) | byte(5) | byte(6) | byte(7)) == 0);  // MTIME 0
  CHECK(byte(8) == 2);     // XFL: maximum compression
  CHECK(byte(9) == 3);     // OS Unix
  CHECK(gzipCompress(*json).value() == *gz);
  CHECK(gz->size() < json->size() / 2);
  const auto back = gzipDecompress(*gz, 1 << 20);
  REQUIRE(back.has_value());
  CHECK(*back == *json);
  CHECK(gzipDecompress(gzipCompress("").value(), 10).value().empty());
}

TEST_CASE("gzipDecompress reads sys4's HTTPS body and refuses damaged or oversized input") {
  const auto body = gzipDecompress(readFile(fixturePath("reportd-libtlsrpt-example.org-https-post.json.gz")), 1 << 20);
  REQUIRE(body.has_value());
  CHECK(*body == readFile(fixturePath("reportd-libtlsrpt-example.org.json")));
  CHECK(validateReportJson(*body).empty());

  const std::string gz = gzipCompress(std::string(100000, 'a')).value();
  const auto bomb = gzipDecompress(gz, 99999);
  REQUIRE_FALSE(bomb.has_value());
  CHECK(bomb.error().code == ErrorCode::TooLarge);
  CHECK(gzipDecompress(gz, 100000).has_value());

  const auto truncated = gzipDecompress(gz.substr(0, gz.size() - 4), 1 << 20);
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().code == ErrorCode::InvalidInput);
  const auto trailing = gzipDecompress(gz + "x", 1 << 20);
  REQUIRE_FALSE(trailing.has_value());
  CHECK(trailing.error().detail == "bytes after the gzip stream");
  std::string flipped = gz;
  flipped[gz.size() - 6] = static_cast<char>(flipped[gz.size() - 6] ^ 1);  // CRC32
  CHECK_FALSE(gzipDecompress(flipped, 1 << 20).has_value());
  CHECK_FALSE(gzipDecompress("not gzip", 1 << 20).has_value());
}

TEST_CASE("makeReportId builds a msg-id from day, token, policy domain and submitter") {
  const auto id = makeReportId(UtcDay{20786}, "example.com", "sender.example", "0123456789abcdef");
  REQUIRE(id.has_value());
  CHECK(*id == "2026-11-29.0123456789abcdef.example.com@sender.example");
  struct Bad {
    const char* domain;
    const char* submitter;
    const char* token;
  };
  const Bad cases[] = {{"exa mple.com", "sender.example", "ab"}, {"example.com", "", "ab"},
                       {"example.com", "sender.example", ""}, {"example.com", "s.example", "a-b"},
                       {"example.com", "s.example>", "ab"}};
  for (const auto& c : cases) {
    CAPTURE(c.domain);
    CAPTURE(c.submitter);
    CAPTURE(c.token);
    CHECK_FALSE(makeReportId(UtcDay{1}, c.domain, c.submitter, c.token).has_value());
  }
}

TEST_CASE("randomReportToken gives 16 hex digits that differ between calls") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto token = randomReportToken();
    REQUIRE(token.has_value());
    CHECK(token->size() == 16);
    CHECK(token->find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(*token);
  }
  CHECK(seen.size() == 50);
}

TEST_CASE("reportFileName follows RFC 8460 section 5.1") {
  const auto name = reportFileName("sender.example", "example.com", UtcDay{20786},
                                   "2026-11-29.0123456789abcdef.example.com@sender.example");
  REQUIRE(name.has_value());
  CHECK(*name == "sender.example!example.com!1795910400!1795996799!202611290123456789abcdefexamplec.json.gz");
  CHECK(reportFileName("s.example", "d.example", UtcDay{0}, "@x").value() ==
        "s.example!d.example!0!86399.json.gz");
  CHECK(fileNameUniqueId("../a/b!c d@x") == "abcd");
  CHECK(fileNameUniqueId("2026-11-29T00:00:00Z_idx1_example.com") == "20261129T000000Zidx1examplecom");
  CHECK_FALSE(reportFileName("s/../x", "d.example", UtcDay{0}, "1@x").has_value());
  CHECK_FALSE(reportFileName("s.example", "d!example", UtcDay{0}, "1@x").has_value());
}

TEST_CASE("addressDomain takes the lower-cased domain of an addr-spec") {
  CHECK(addressDomain("tlsrpt-noreply@Sender.Example").value() == "sender.example");
  CHECK_FALSE(addressDomain("a@b@c.example").has_value());  // '@' is not atext
  CHECK_FALSE(addressDomain("nobody").has_value());
  CHECK_FALSE(addressDomain("@x.example").has_value());
  CHECK_FALSE(addressDomain("a@").has_value());
  CHECK_FALSE(addressDomain("a@[192.0.2.1]").has_value());
}

TEST_CASE("buildReportFiles gives the JSON, its gzip and the file name, validated") {
  const Report report = sampleReport();
  const auto files = buildReportFiles(report, "sender.example");
  REQUIRE_MESSAGE(files.has_value(), files.error().detail);
  CHECK(files->json == writeReportJson(report).value());
  CHECK(gzipDecompress(files->gzip, 1 << 20).value() == files->json);
  CHECK(files->file_name == reportFileName("sender.example", "example.com", report.day, report.report_id).value());
}

TEST_CASE("buildReportFiles stops a report that would fail a receiver's parser") {
  Report report = sampleReport();
  report.policies[0].failures[0].detail.sending_mta_ip = "not-an-ip";
  report.policies[1].policy.domain = "bad domain";
  const auto files = buildReportFiles(report, "sender.example");
  REQUIRE_FALSE(files.has_value());
  CHECK(files.error().code == ErrorCode::InvalidInput);
  CHECK(files.error().detail.find("report.policies[0].failure-details[0].sending-mta-ip") != std::string::npos);
  CHECK(files.error().detail.find("report.policies[1].policy.policy-domain") != std::string::npos);
  CHECK_FALSE(buildReportFiles(sampleReport(), "bad submitter").has_value());
}
