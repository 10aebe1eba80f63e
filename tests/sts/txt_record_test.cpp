#include "sts/txt_record.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::sts;

namespace {

using RRset = std::vector<std::vector<std::string>>;

std::string describe(const Result<StsRecord>& r) {
  return r ? "ok id=" + r->id
           : std::string(errorCodeName(r.error().code)) + ": " + r.error().detail;
}

}  // namespace

TEST_CASE("parseTxtRecord accepts every form the RFC 8461 ABNF allows") {
  struct Case {
    std::string record;
    std::string want_id;
  };
  const Case cases[] = {
      {"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
      {"v=STSv1; id=abc", "abc"},
      {"v=STSv1;id=abc", "abc"},
      {"v=STSv1;id=abc;", "abc"},
      {"v=STSv1 ; id=abc", "abc"},         // *WSP before ';' (erratum 6285)
      {"v=STSv1\t;\tid=abc\t;\t", "abc"},  // tabs are WSP
      {"v=STSv1;   id=abc   ;   ", "abc"},
      {"v=STSv1; id=abc; foo=bar", "abc"},        // unknown extension ignored
      {"v=STSv1; foo=bar; id=abc", "abc"},        // field order is not significant
      {"v=STSv1; id=first; id=second", "first"},  // first of a repeated field wins
      {"v=STSv1; id=abc; id=not-an-id!", "abc"},  // later id only needs ext syntax
      {"v=STSv1; ID=ignored; id=abc", "abc"},     // %s"id=": "ID" is an extension
      {"v=STSv1; id=" + std::string(32, 'a'), std::string(32, 'a')},
      {"v=STSv1; id=AbC123", "AbC123"},
      {"v=STSv1; x_y-z.1=a:b/c!~; id=1", "1"},  // ext-name and ext-value charsets
      {"v=STSv1; " + std::string(32, 'n') + "=v; id=1", "1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    const auto got = parseTxtRecord(c.record);
    CAPTURE(describe(got));
    REQUIRE(got.has_value());
    CHECK(got->id == c.want_id);
  }
}

TEST_CASE("parseTxtRecord rejects records that break the grammar, with a reason") {
  struct Case {
    std::string record;
    std::string want_reason;
  };
  const Case cases[] = {
      {"v=STSv1;id=", "id: empty value"},
      {"v=STSv1; id=", "id: empty value"},
      {"v=STSv1; id=" + std::string(33, 'a'), "id: 33 characters, at most 32 allowed"},
      {"v=STSv1; id=abc-def", "id: invalid character '-'"},
      {"v=STSv1; id=abc_def", "id: invalid character '_'"},
      {"v=STSv1; id=a\xc3\xa9", "id: invalid character byte 0xc3"},
      {"v=STSv1; id=abc def", "expected ';' after field 1, got 'd'"},
      {"v=STSv1; id=abc=def", "id: invalid character '=' in value"},
      {"v=STSv1;", "id field missing"},
      {"v=STSv1; foo=bar", "id field missing"},
      {"v=STSv1; ID=abc", "id field missing"},
      {"v=STSv1; id=abc; foo", "field 2 (\"foo\"): missing '='"},
      {"v=STSv1; id=abc; foo=", "foo: empty value"},
      {"v=STSv1; id=abc; _foo=bar", "field 2: invalid name \"_foo\""},
      {"v=STSv1; id=abc; -foo=bar", "field 2: invalid name \"-foo\""},
      {"v=STSv1; id=abc; f\xc3\xa9=bar", "field 2 (\"f\"): missing '='"},
      {"v=STSv1; id=abc; " + std::string(33, 'n') + "=v", "field 2: invalid name"},
      {"v=STSv1; id=abc; foo=a\x01", "foo: invalid character byte 0x01 in value"},
      {"v=STSv1; id=abc; foo=\x7f", "foo: invalid character byte 0x7f in value"},
      {"v=STSv1;; id=abc", "field 1: empty or invalid name at ';'"},
      {"v=STSv1; id=abc;;", "field 2: empty or invalid name at ';'"},
      {"v=STSv1; id=abc ", "whitespace at the end of the record without ';'"},
      {"v=STSv1 id=abc", "expected ';' after field 0, got 'i'"},
      {"v=STSv1", "id field missing"},
      {"V=STSv1; id=abc", "does not begin with v=STSv1"},
      {"v=stsv1; id=abc", "does not begin with v=STSv1"},
      {" v=STSv1; id=abc", "does not begin with v=STSv1"},
      {"", "does not begin with v=STSv1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    const auto got = parseTxtRecord(c.record);
    CAPTURE(describe(got));
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
  }
}

TEST_CASE("looksLikeStsRecord keeps only version fields followed by a delimiter") {
  struct Case {
    std::string record;
    bool want;
  };
  const Case cases[] = {
      {"v=STSv1;", true},
      {"v=STSv1; id=abc", true},
      {"v=STSv1 ; id=abc", true},
      {"v=STSv1\t;id=abc", true},
      {"v=STSv1", false},
      {"v=STSv1 ", false},
      {"v=STSv10; id=abc", false},
      {"V=STSv1; id=abc", false},
      {"v=STSv2; id=abc", false},
      {"v=spf1 -all", false},
      {"", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.record);
    CHECK(looksLikeStsRecord(c.record) == c.want);
  }
}

TEST_CASE("parseTxtRecords joins strings, drops other records and needs exactly one") {
  struct Case {
    std::string name;
    RRset rrs;
    std::string want_id;
    ErrorCode want_code;
    std::string want_reason;
  };
  const Case cases[] = {
      {"one record", {{"v=STSv1; id=abc;"}}, "abc", ErrorCode::Internal, ""},
      {"strings joined with nothing between",
       {{"v=STSv1; id=", "abc"}},
       "abc",
       ErrorCode::Internal,
       ""},
      {"split inside the version", {{"v=ST", "Sv1;", " id=x1"}}, "x1", ErrorCode::Internal, ""},
      {"unrelated TXT beside it",
       {{"v=spf1 -all"}, {"v=STSv1; id=abc"}, {"google-site-verification=x"}},
       "abc",
       ErrorCode::Internal,
       ""},
      {"upper-case V is another record",
       {{"V=STSv1; id=abc"}, {"v=STSv1; id=def"}},
       "def",
       ErrorCode::Internal,
       ""},
      {"empty RR beside it", {{}, {"v=STSv1; id=abc"}}, "abc", ErrorCode::Internal, ""},
      {"no RR at all", {}, "", ErrorCode::NotFound, "no v=STSv1 record"},
      {"only unrelated RRs",
       {{"v=spf1 -all"}, {"V=STSv1; id=abc"}},
       "",
       ErrorCode::NotFound,
       "no v=STSv1 record"},
      {"bare version is dropped", {{"v=STSv1"}}, "", ErrorCode::NotFound, "no v=STSv1 record"},
      {"two STS records",
       {{"v=STSv1; id=abc"}, {"v=STSv1; id=def"}},
       "",
       ErrorCode::NotFound,
       "2 v=STSv1 records"},
      {"two STS records, one invalid",
       {{"v=STSv1; id=abc"}, {"v=STSv1; id="}},
       "",
       ErrorCode::NotFound,
       "2 v=STSv1 records"},
      {"three STS records",
       {{"v=STSv1;id=a"}, {"v=STSv1;id=b"}, {"v=STSv1;id=c"}},
       "",
       ErrorCode::NotFound,
       "3 v=STSv1 records"},
      {"the one record is invalid",
       {{"v=STSv1; id=", ""}},
       "",
       ErrorCode::InvalidInput,
       "id: empty value"},
      {"the one record has a 33-char id",
       {{"v=STSv1; id=", std::string(33, '7')}},
       "",
       ErrorCode::InvalidInput,
       "33 characters"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = parseTxtRecords(c.rrs);
    CAPTURE(describe(got));
    if (c.want_reason.empty()) {
      REQUIRE(got.has_value());
      CHECK(got->id == c.want_id);
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error().code == c.want_code);
      CHECK(got.error().detail.find(c.want_reason) != std::string::npos);
    }
  }
}

TEST_CASE("isValidStsId allows 1 to 32 letters or digits") {
  CHECK(isValidStsId("a"));
  CHECK(isValidStsId(std::string(32, 'Z')));
  CHECK_FALSE(isValidStsId(""));
  CHECK_FALSE(isValidStsId(std::string(33, 'Z')));
  CHECK_FALSE(isValidStsId("a.b"));
  CHECK_FALSE(isValidStsId(std::string("a\0b", 3)));
}
