#include "tlsrpt/tlsrpt_record.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

std::string describe(const Result<TlsRptRecord>& r) {
  if (!r) return std::string(errorCodeName(r.error().code)) + ": " + r.error().detail;
  std::string out = "ok";
  for (const auto& u : r->rua) {
    out += u.kind == RuaKind::Mailto ? " mailto[" + u.address + "]"
                                     : " https[" + u.host + ":" + std::to_string(u.port) +
                                           u.target + "]";
  }
  for (const auto& s : r->skipped) out += " skipped(" + s + ")";
  return out;
}

// "m:addr" for a mailto rua, "h:host:port/target" for an https rua.
std::vector<std::string> summary(const TlsRptRecord& r) {
  std::vector<std::string> out;
  for (const auto& u : r.rua) {
    out.push_back(u.kind == RuaKind::Mailto
                      ? "m:" + u.address
                      : "h:" + u.host + ":" + std::to_string(u.port) + u.target);
  }
  return out;
}

}  // namespace

TEST_CASE("parseTlsRptRecord accepts the RFC examples and every form the ABNF allows") {
  struct Case {
    std::string record;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      // RFC 8460 section 3.2 (Appendix A in the drafts).
      {"v=TLSRPTv1;rua=mailto:reports@example.com", {"m:reports@example.com"}},
      {"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
       {"h:reporting.example.com:443/v1/tlsrpt"}},
      {"v=TLSRPTv1;rua=mailto:a@b,https://c/d", {"m:a@b", "h:c:443/d"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example , https://c.example/d",
       {"m:a@b.example", "h:c.example:443/d"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example\t,\thttps://c.example", {"m:a@b.example", "h:c.example:443/"}},
      {"v=TLSRPTv1 ; rua=mailto:a@b.example", {"m:a@b.example"}},
      {"v=TLSRPTv1;rua=mailto:a@b.example;", {"m:a@b.example"}},
      {"v=TLSRPTv1;rua=mailto:a@b.example; ", {"m:a@b.example"}},
      {"v=TLSRPTv1;\trua=mailto:a@b.example\t;\t", {"m:a@b.example"}},
      {"v=TLSRPTv1; x-ext=1; rua=mailto:a@b.example; other.ext=a:b/c", {"m:a@b.example"}},
      {"v=TLSRPTv1; RUA=mailto:x@y.example; rua=mailto:a@b.example", {"m:a@b.example"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example; rua=mailto:second@b.example", {"m:a@b.example"}},
      {"v=TLSRPTv1; rua=MAILTO:a@B.example", {"m:a@B.example"}},
      {"v=TLSRPTv1; rua=HTTPS://Reports.Example:8443/x?y=1#frag", {"h:reports.example:8443/x?y=1"}},
      {"v=TLSRPTv1; rua=https://c.example?q=1", {"h:c.example:443/?q=1"}},
      {"v=TLSRPTv1; rua=https://c.example:/p", {"h:c.example:443/p"}},
      {"v=TLSRPTv1; rua=mailto:tls%2Brpt@example.com", {"m:tls+rpt@example.com"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example%2Cc@d.example", {"m:a@b.example", "m:c@d.example"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example?subject=hi", {"m:a@b.example"}},
      {"v=TLSRPTv1; rua=mailto:a@b.example,mailto:A@B.EXAMPLE", {"m:a@b.example"}},
      {"v=TLSRPTv1; rua=ftp://x.example/,mailto:a@b.example", {"m:a@b.example"}},
      {"v=TLSRPTv1; rua=mailto:first.last+tag@sub.example.com", {"m:first.last+tag@sub.example.com"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    const auto got = parseTlsRptRecord(c.record);
    CAPTURE(describe(got));
    REQUIRE(got.has_value());
    CHECK(summary(*got) == c.want);
  }
}

TEST_CASE("parseTlsRptRecord keeps schemes as published but folds them to lower case") {
  const auto got = parseTlsRptRecord("v=TLSRPTv1; rua=MailTo:a@b.example,HTTPS://h.example/P");
  REQUIRE(got.has_value());
  REQUIRE(got->rua.size() == 2);
  CHECK(got->rua[0].uri == "mailto:a@b.example");
  CHECK(got->rua[0].host == "b.example");
  CHECK(got->rua[1].uri == "https://h.example/P");
  CHECK(got->rua[1].target == "/P");
}

TEST_CASE("parseTlsRptRecord skips unusable URIs with a reason and fails when none is left") {
  struct Case {
    std::string record;
    std::vector<std::string> want;  // empty: no usable rua, the record is refused
    std::string want_reason;        // in skipped[] (or in the error when want is empty)
  };
  const Case cases[] = {
      {"v=TLSRPTv1; rua=http://c.example/,mailto:a@b.example", {"m:a@b.example"}, "scheme \"http\""},
      {"v=TLSRPTv1; rua=http://c.example/", {}, "scheme \"http\" not supported"},
      {"v=TLSRPTv1; rua=mailto:nobody", {}, "no '@'"},
      {"v=TLSRPTv1; rua=mailto:@b.example", {}, "empty local part"},
      {"v=TLSRPTv1; rua=mailto:a@", {}, "empty domain"},
      {"v=TLSRPTv1; rua=mailto:", {}, "no address"},
      {"v=TLSRPTv1; rua=mailto:?to=a@b.example", {}, "no address"},
      {"v=TLSRPTv1; rua=mailto:a..b@c.example", {}, "'..' in the local part"},
      {"v=TLSRPTv1; rua=mailto:.a@c.example", {}, "starts or ends with '.'"},
      {"v=TLSRPTv1; rua=mailto:%22a%20b%22@c.example", {}, "quoted local part"},
      {"v=TLSRPTv1; rua=mailto:a%20b@c.example", {}, "invalid character byte 0x20"},
      {"v=TLSRPTv1; rua=mailto:a@[192.0.2.1]", {}, "address literal"},
      {"v=TLSRPTv1; rua=mailto:a@b_c.example", {}, "not a hostname"},
      {"v=TLSRPTv1; rua=mailto:a@%C3%A9.example", {}, "not a hostname"},
      {"v=TLSRPTv1; rua=mailto:" + std::string(65, 'l') + "@c.example", {}, "longer than 64"},
      {"v=TLSRPTv1; rua=https:/c.example/", {}, "no authority"},
      {"v=TLSRPTv1; rua=https://user@c.example/", {}, "userinfo"},
      {"v=TLSRPTv1; rua=https://[2001:db8::1]/", {}, "IP literal"},
      {"v=TLSRPTv1; rua=https://c.example:0/", {}, "invalid port"},
      {"v=TLSRPTv1; rua=https://c.example:70000/", {}, "invalid port"},
      {"v=TLSRPTv1; rua=https://c.example:8a/", {}, "invalid port"},
      {"v=TLSRPTv1; rua=https:///path", {}, "not a hostname"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    const auto got = parseTlsRptRecord(c.record);
    CAPTURE(describe(got));
    if (c.want.empty()) {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error().code == ErrorCode::InvalidInput);
      CHECK(got.error().detail.find("no usable rua") != std::string::npos);
      CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
    } else {
      REQUIRE(got.has_value());
      CHECK(summary(*got) == c.want);
      REQUIRE(got->skipped.size() == 1);
      CHECK(got->skipped[0].find(c.want_reason) != std::string::npos);
    }
  }
}

TEST_CASE("parseTlsRptRecord refuses records that break the grammar, with a reason") {
  struct Case {
    std::string record;
    std::string want_reason;
  };
  const Case cases[] = {
      {"v=TLSRPTv1", "no field after v=TLSRPTv1"},
      {"v=TLSRPTv1;", "no field after v=TLSRPTv1"},
      {"v=TLSRPTv1 rua=mailto:a@b.example", "expected ';' after v=TLSRPTv1, got 'r'"},
      {"v=TLSRPTv1; x=1", "rua field missing"},
      {"v=TLSRPTv1; RUA=mailto:a@b.example", "rua field missing"},
      {"v=TLSRPTv1; rua=", "rua: empty value"},
      {"v=TLSRPTv1; rua =mailto:a@b.example", "field 1 (\"rua\"): missing '='"},
      {"v=TLSRPTv1; rua= mailto:a@b.example", "is not a URI (no scheme)"},
      {"v=TLSRPTv1; rua=mailto:a@b.example ", "whitespace at the end of the record"},
      {"v=TLSRPTv1; rua=mailto:a@b.example,", "rua: URI 2 is empty"},
      {"v=TLSRPTv1; rua=,mailto:a@b.example", "rua: URI 1 is empty"},
      {"v=TLSRPTv1; rua=mailto:a@b.example mailto:c@d.example", "invalid character byte 0x20"},
      {"v=TLSRPTv1; rua=mailto:a!b@c.example", "invalid character '!'"},
      {"v=TLSRPTv1; rua=mailto:a@b.example%2", "broken percent escape"},
      {"v=TLSRPTv1; rua=mailto:a@b.example%zz", "broken percent escape"},
      {"v=TLSRPTv1; rua=mailto:a\"b@c.example", "invalid character '\"'"},
      {"v=TLSRPTv1; rua=mailto:a@b.example\x01", "invalid character byte 0x01"},
      {"v=TLSRPTv1; rua=mailto:a@\xc3\xa9.example", "invalid character byte 0xc3"},
      {"v=TLSRPTv1; rua=a@b.example", "is not a URI (no scheme)"},
      {"v=TLSRPTv1; rua=:x", "is not a URI (no scheme)"},
      {"v=TLSRPTv1; rua=1x:y", "is not a URI (no scheme)"},
      {"v=TLSRPTv1; rua=ma_il:x", "invalid scheme"},
      {"v=TLSRPTv1; rua=https://a.example/#x#y", "two '#'"},
      {"v=TLSRPTv1;; rua=mailto:a@b.example", "field 1: empty or invalid name at ';'"},
      {"v=TLSRPTv1; rua=mailto:a@b.example;;", "field 2: empty or invalid name at ';'"},
      {"v=TLSRPTv1; rua=mailto:a@b.example; _x=1", "field 2: invalid name \"_x\""},
      {"v=TLSRPTv1; rua=mailto:a@b.example; " + std::string(33, 'n') + "=1", "invalid name"},
      {"v=TLSRPTv1; rua=mailto:a@b.example; x", "field 2 (\"x\"): missing '='"},
      {"v=TLSRPTv1; rua=mailto:a@b.example; x=", "\"x\": empty value"},
      {"v=TLSRPTv1; rua=mailto:a@b.example; x=a=b", "\"x\": invalid character '='"},
      {"v=TLSRPTv1; rua=mailto:a@b.example; x=a b", "\"x\": invalid character byte 0x20"},
      {"V=TLSRPTv1; rua=mailto:a@b.example", "does not begin with v=TLSRPTv1"},
      {" v=TLSRPTv1; rua=mailto:a@b.example", "does not begin with v=TLSRPTv1"},
      {"", "does not begin with v=TLSRPTv1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    const auto got = parseTlsRptRecord(c.record);
    CAPTURE(describe(got));
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
  }
}

TEST_CASE("parseTlsRptRecord bounds the record size and the number of destinations") {
  const std::string big = "v=TLSRPTv1; rua=mailto:a@b.example; x=" + std::string(MaxRecordBytes, 'x');
  const auto too_big = parseTlsRptRecord(big);
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().code == ErrorCode::TooLarge);

  std::string many = "v=TLSRPTv1; rua=";
  for (int i = 0; i < 12; ++i) many += (i ? "," : "") + std::string("mailto:r") + std::to_string(i) + "@b.example";
  const auto got = parseTlsRptRecord(many);
  CAPTURE(describe(got));
  REQUIRE(got.has_value());
  CHECK(got->rua.size() == MaxReportUris);
  CHECK(got->rua.back().address == "r7@b.example");
  CHECK(got->skipped.size() == 12 - MaxReportUris);
}

TEST_CASE("looksLikeTlsRptRecord keeps only a version field followed by a delimiter") {
  CHECK(looksLikeTlsRptRecord("v=TLSRPTv1;"));
  CHECK(looksLikeTlsRptRecord("v=TLSRPTv1 ;rua=x"));
  CHECK(looksLikeTlsRptRecord("v=TLSRPTv1\t; rua=x"));
  CHECK_FALSE(looksLikeTlsRptRecord("v=TLSRPTv1"));
  CHECK_FALSE(looksLikeTlsRptRecord("v=TLSRPTv1 "));
  CHECK_FALSE(looksLikeTlsRptRecord("v=TLSRPTv10; rua=x"));
  CHECK_FALSE(looksLikeTlsRptRecord("v=tlsrptv1; rua=x"));
  CHECK_FALSE(looksLikeTlsRptRecord("v=spf1 -all"));
  CHECK_FALSE(looksLikeTlsRptRecord(""));
}

TEST_CASE("parseTlsRptRecords needs exactly one v=TLSRPTv1 record among the RRs") {
  struct Case {
    std::string name;
    std::vector<std::string> rrs;
    ErrorCode want_code;  // Internal: success expected
    std::string want_reason;
  };
  const Case cases[] = {
      {"one record", {"v=TLSRPTv1; rua=mailto:a@b.example"}, ErrorCode::Internal, ""},
      {"unrelated TXT beside it",
       {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv10; rua=x"},
       ErrorCode::Internal,
       ""},
      {"no RR", {}, ErrorCode::NotFound, "no v=TLSRPTv1 record"},
      {"only others", {"v=spf1 -all", "v=TLSRPTv1"}, ErrorCode::NotFound, "no v=TLSRPTv1 record"},
      {"two records",
       {"v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv1; rua=mailto:c@d.example"},
       ErrorCode::NotFound,
       "2 v=TLSRPTv1 records"},
      {"two records, one invalid",
       {"v=TLSRPTv1; rua=mailto:a@b.example", "v=TLSRPTv1; x=1"},
       ErrorCode::NotFound,
       "2 v=TLSRPTv1 records"},
      {"the one record is invalid", {"v=TLSRPTv1; x=1"}, ErrorCode::InvalidInput, "rua field missing"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = parseTlsRptRecords(c.rrs);
    CAPTURE(describe(got));
    if (c.want_reason.empty()) {
      REQUIRE(got.has_value());
      CHECK(summary(*got) == std::vector<std::string>{"m:a@b.example"});
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error().code == c.want_code);
      CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
    }
  }
}
