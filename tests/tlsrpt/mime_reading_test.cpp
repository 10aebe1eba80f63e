// MIME reading of received report mails: transfer decoding, header sections and parameters,
// the multipart walk, and which parts count as report attachments.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/mime_decode.hpp"
#include "tlsrpt/mime_header.hpp"
#include "tlsrpt/mime_parts.hpp"
#include "tlsrpt/report_mail_reader.hpp"

namespace mtasts::tlsrpt {
namespace {

TEST_CASE("base64 decoding skips line breaks and refuses damaged bodies with a reason") {
  struct Case {
    const char* input;
    const char* want;  // nullptr: an error
    const char* error_part;
  };
  const std::vector<Case> cases = {
      {"aGVsbG8=", "hello", ""},
      {"aGVs\r\nbG8=\r\n", "hello", ""},
      {" aG Vs\tbG8 = ", "hello", ""},
      {"aGVsbG8", "hello", ""},      // padding dropped by the encoder: still decoded
      {"aGVsbA", "hell", ""},
      {"", "", ""},
      {"aGVs*bG8=", nullptr, "byte \"*\" at byte 4"},
      {"aGVsbG8=aGVs", nullptr, "data after the '=' padding"},
      {"aGVsb", nullptr, "truncated"},
      {"aGVs\xc3\xa4", nullptr, "byte \"\\xc3\" at byte 4"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const auto got = decodeBase64(c.input);
    if (c.want != nullptr) {
      REQUIRE(got.has_value());
      CHECK(*got == c.want);
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error().detail.find(c.error_part) != std::string::npos);
    }
  }
}

TEST_CASE("quoted-printable decoding undoes soft breaks, hex escapes and transport padding") {
  CHECK(decodeQuotedPrintable("a=3Db=3db") == "a=b=b");
  CHECK(decodeQuotedPrintable("{\"x\":=\r\n1}") == "{\"x\":1}");
  CHECK(decodeQuotedPrintable("{\"x\":=\n1}") == "{\"x\":1}");
  CHECK(decodeQuotedPrintable("line one   \r\nline two") == "line one\r\nline two");
  CHECK(decodeQuotedPrintable("bad =ZZ escape and =") == "bad =ZZ escape and ");
  CHECK(decodeQuotedPrintable("=C3=A4_x", true) == "\xc3\xa4 x");
}

TEST_CASE("transfer encodings are chosen by name without case, unknown ones refused") {
  CHECK(*decodeTransferEncoding("aGk=", " Base64 ") == "hi");
  CHECK(*decodeTransferEncoding("a=3Db", "QUOTED-PRINTABLE") == "a=b");
  for (const char* identity : {"", "7bit", "8bit", "binary", "7BIT"}) {
    CAPTURE(identity);
    CHECK(*decodeTransferEncoding("{}", identity) == "{}");
  }
  const auto uu = decodeTransferEncoding("x", "x-uuencode");
  REQUIRE_FALSE(uu.has_value());
  CHECK(uu.error().detail == "unknown Content-Transfer-Encoding \"x-uuencode\"");
}

TEST_CASE("a header section is unfolded, read without case and ends at the first empty line") {
  const std::string mail =
      "Subject: Report Domain: example.com Submitter: sender.e2e.test Report-ID:\r\n"
      " <id@sender>\r\n"
      "content-TYPE : multipart/report;\r\n"
      "\tboundary=\"b\"\r\n"
      "not a field line\r\n"
      "X-Empty:\r\n"
      "\r\n"
      "body: not a header\r\n";
  const HeaderSection h = parseHeaderSection(mail);
  REQUIRE(h.fields.size() == 3);
  CHECK(*h.find("subject") == "Report Domain: example.com Submitter: sender.e2e.test Report-ID: <id@sender>");
  CHECK(*h.find("Content-Type") == "multipart/report;\tboundary=\"b\"");
  CHECK(h.find("x-empty")->empty());
  CHECK(h.find("body") == nullptr);
  CHECK(std::string_view(mail).substr(h.body_offset) == "body: not a header\r\n");

  SUBCASE("bare LF line ends, as in an mbox") {
    const HeaderSection lf = parseHeaderSection("A: 1\n b\nB: 2\n\nbody");
    CHECK(*lf.find("a") == "1 b");
    CHECK(std::string_view("A: 1\n b\nB: 2\n\nbody").substr(lf.body_offset) == "body");
  }
  SUBCASE("no empty line: all header, empty body") {
    const std::string text = "A: 1\r\nB: 2";
    CHECK(parseHeaderSection(text).body_offset == text.size());
  }
  SUBCASE("a field count bound keeps the section readable") {
    std::string many;
    for (int i = 0; i < 50; ++i) many += "X-N: " + std::to_string(i) + "\n";
    many += "\nbody";
    const HeaderSection bounded = parseHeaderSection(many, 10);
    CHECK(bounded.fields.size() == 10);
    CHECK(std::string_view(many).substr(bounded.body_offset) == "body");
  }
}

TEST_CASE("content type parameters: quoting, comments, real mailers' quirks and RFC 2231") {
  struct Case {
    const char* value;
    const char* token;
    const char* name;
    const char* want;
  };
  const std::vector<Case> cases = {
      {"multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"=_x\"", "multipart/report", "boundary", "=_x"},
      {"Multipart/Report; REPORT-TYPE=tlsrpt", "multipart/report", "report-type", "tlsrpt"},
      // Google: a trailing ';' and a folded name parameter
      {"application/tlsrpt+gzip; \r\n\tname=\"google.com!a.example!1!2!001.json.gz\"", "application/tlsrpt+gzip",
       "name", "google.com!a.example!1!2!001.json.gz"},
      {"application/tlsrpt+gzip;", "application/tlsrpt+gzip", "name", nullptr},
      // unquoted values with characters outside RFC 2045 tokens, spaces around '='
      {"application/gzip; name = a!b!c.json.gz ; x=1", "application/gzip", "name", "a!b!c.json.gz"},
      {"text/plain (a comment); charset=(another) us-ascii", "text/plain", "charset", "us-ascii"},
      {"text/plain; title=\"a \\\"quoted\\\" word\"", "text/plain", "title", "a \"quoted\" word"},
      // RFC 2231: charset'language'percent-encoded, continuations, both mixed
      {"attachment; filename*=utf-8''a%21b.json.gz", "attachment", "filename", "a!b.json.gz"},
      {"attachment; filename*0=\"long\"; filename*1=\"-name.json\"", "attachment", "filename", "long-name.json"},
      {"attachment; filename*0*=us-ascii'en'a%20b; filename*1*=%21c; filename*2=\".json\"", "attachment",
       "filename", "a b!c.json"},
      {"attachment; filename=\"plain.json\"; filename*=utf-8''better.json", "attachment", "filename",
       "better.json"},
      {"attachment; filename*1=\"gap\"", "attachment", "filename", nullptr},
      {"", "", "name", nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    const ParameterizedValue v = parseParameterizedValue(c.value);
    CHECK(v.token == c.token);
    const std::string* got = v.param(c.name);
    if (c.want == nullptr) {
      CHECK(got == nullptr);
    } else {
      REQUIRE(got != nullptr);
      CHECK(*got == c.want);
    }
  }
}

TEST_CASE("RFC 2047 encoded words in a file name are decoded") {
  CHECK(decodeEncodedWords("=?utf-8?B?YS5qc29u?=") == "a.json");
  CHECK(decodeEncodedWords("=?UTF-8?Q?r=C3=A9port_1?= =?utf-8?q?.json?=") == "r\xc3\xa9port 1.json");
  CHECK(decodeEncodedWords("plain.json") == "plain.json");
  CHECK(decodeEncodedWords("=?broken") == "=?broken");
}

std::string multipartMail(const std::string& inner) {
  return "From: a@b.example\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
         "preamble\r\n--outer\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
         "--outer  \r\n" + inner + "\r\n--outer--\r\nepilogue\r\n";
}

TEST_CASE("the multipart walk finds nested parts with their numbers, types and names") {
  const std::string inner =
      "Content-Type: multipart/report; report-type=tlsrpt; boundary=inner\r\n\r\n"
      "--inner\r\nContent-Type: text/plain\r\n\r\ntext\r\n"
      "--inner\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"x.json.gz\"\r\n\r\nH4sI\r\n--inner--";
  const std::string mail = multipartMail(inner);  // the leaves' bodies are views into it
  const MimeTree tree = walkMime(mail);
  CHECK(tree.problems.empty());
  CHECK(tree.content_type.token == "multipart/mixed");
  REQUIRE(tree.leaves.size() == 3);
  CHECK(tree.leaves[0].number == "1");
  CHECK(tree.leaves[0].body == "hello");
  CHECK(tree.leaves[1].number == "2.1");
  CHECK(tree.leaves[2].number == "2.2");
  CHECK(tree.leaves[2].content_type == "application/tlsrpt+gzip");
  CHECK(tree.leaves[2].file_name == "x.json.gz");
  CHECK(tree.leaves[2].transfer_encoding == "base64");
  CHECK(tree.leaves[2].body == "H4sI");
}

TEST_CASE("the multipart walk reports damage and stays within its bounds") {
  SUBCASE("no boundary parameter") {
    const MimeTree t = walkMime("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n");
    CHECK(t.leaves.empty());
    REQUIRE(t.problems.size() == 1);
    CHECK(t.problems[0] == "the mail: multipart/mixed without a boundary parameter");
  }
  SUBCASE("the boundary never occurs") {
    const MimeTree t = walkMime("Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n");
    CHECK(t.problems == std::vector<std::string>{"the mail: no part found: the boundary never occurs"});
  }
  SUBCASE("a truncated mail: no closing boundary, the last part kept") {
    const MimeTree t = walkMime("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo, cut");
    REQUIRE(t.leaves.size() == 2);
    CHECK(t.leaves[1].body == "two, cut");
    CHECK(t.problems == std::vector<std::string>{"the mail: no closing boundary: the mail may be truncated"});
  }
  SUBCASE("a line that only starts with the boundary is content") {
    const MimeTree t = walkMime("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b--\r\n");
    REQUIRE(t.leaves.size() == 1);
    CHECK(t.leaves[0].body == "--bx");
  }
  SUBCASE("nesting deeper than the bound") {
    std::string mail;
    for (int i = 0; i < 12; ++i) {
      mail += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
    }
    mail += "\r\nleaf\r\n";
    MimeLimits limits;
    limits.max_depth = 4;
    const MimeTree t = walkMime(mail, limits);
    CHECK(t.leaves.empty());
    CAPTURE(t.problems.size());
    CHECK(std::find(t.problems.begin(), t.problems.end(), "part 1.1.1.1: nested deeper than 4 levels: not read") !=
          t.problems.end());
  }
  SUBCASE("more parts than the bound") {
    std::string mail = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
    for (int i = 0; i < 20; ++i) mail += "--b\r\n\r\npart\r\n";
    mail += "--b--\r\n";
    MimeLimits limits;
    limits.max_parts = 5;
    const MimeTree t = walkMime(mail, limits);
    CHECK(t.leaves.size() == 5);
    CHECK(t.problems == std::vector<std::string>{"the mail: more than 5 parts: the rest not read"});
  }
  SUBCASE("a message/rfc822 part is descended into") {
    const std::string mail = multipartMail(
        "Content-Type: message/rfc822\r\n\r\nContent-Type: application/tlsrpt+json\r\n\r\n{}");
    const MimeTree t = walkMime(mail);
    REQUIRE(t.leaves.size() == 2);
    CHECK(t.leaves[1].number == "2");
    CHECK(t.leaves[1].content_type == "application/tlsrpt+json");
    CHECK(t.leaves[1].body == "{}");
  }
  SUBCASE("no Content-Type at all: one text/plain leaf") {
    const MimeTree t = walkMime("Subject: hi\n\nbody\n");
    REQUIRE(t.leaves.size() == 1);
    CHECK(t.leaves[0].content_type == "text/plain");
    CHECK(t.content_type.token == "text/plain");
  }
}

TEST_CASE("report attachments are told by media type, and by file name for generic types") {
  struct Case {
    const char* type;
    const char* name;
    bool want;
  };
  const std::vector<Case> cases = {
      {"application/tlsrpt+gzip", "", true},
      {"application/tlsrpt+json", "whatever.bin", true},
      {"application/gzip", "a!b!1!2.json.gz", true},
      {"application/x-gzip", "A!B!1!2.JSON.GZ", true},
      {"application/octet-stream", "a.json.gz", true},
      {"application/octet-stream", "a.json", true},
      {"application/json", "a.json", true},
      {"application/gzip", "example.org!a.example!1!2.xml.gz", false},  // DMARC
      {"application/gzip", "report.gz", false},
      {"application/json", "", false},
      {"application/zip", "a.json.gz", false},
      {"text/plain", "a.json", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.type);
    CAPTURE(c.name);
    CHECK(isReportAttachment(c.type, c.name) == c.want);
  }
}

TEST_CASE("sys4's report mail: one gzip attachment found, decoded, and the mail announces a report") {
  const std::string mail = test::readFile(test::fixturePath("reportd-libtlsrpt-example.com.eml"));
  const ReportMailScan scan = scanReportMail(mail);
  CHECK(scan.announces_report);
  CHECK(scan.report_domain == "example.com");
  CHECK(scan.broken.empty());
  CHECK(scan.structure_problems.empty());
  REQUIRE(scan.parts.size() == 1);
  CHECK(scan.parts[0].label == "part 2 (sender.e2e.test!example.com!1795910400!1795996799!1.json.gz)");
  CHECK(scan.parts[0].content.substr(0, 2) == "\x1f\x8b");
}

TEST_CASE("our own report mail (report_mail.hpp) is read back") {
  const std::string mail = test::readFile(test::goldenPath("report-mail.eml"));
  const ReportMailScan scan = scanReportMail(mail);
  CHECK(scan.announces_report);
  CHECK(scan.report_domain == "example.com");
  REQUIRE(scan.parts.size() == 1);
  CHECK(scan.parts[0].file_name.ends_with(".json.gz"));
}

}  // namespace
}  // namespace mtasts::tlsrpt
