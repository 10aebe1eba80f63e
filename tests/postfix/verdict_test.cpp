#include "postfix/verdict.hpp"

#include "tests/postfix/postfix_policy_oracle.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace mtasts::postfix;
using Lines = std::vector<std::pair<std::string, std::string>>;

namespace {

// Golden files hold the exact bytes after "OK ", without a trailing newline.
// (stdio rather than istreambuf_iterator: g++ 12 -O2 -Wnull-dereference warns inside <streambuf>.)
std::string readGolden(const std::string& name) {
  const std::string path = std::string(MTASTS_GOLDEN_DIR) + "/" + name;
  struct Closer { void operator()(std::FILE* f) const noexcept { std::fclose(f); } };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  REQUIRE_MESSAGE(file != nullptr, "missing golden file ", path);
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) text.append(buf, n);
  return text;
}

std::string verdict(const StsVerdictInput& in, VerdictFlavour flavour) {
  std::string out;
  REQUIRE(appendStsVerdict(out, in, flavour));
  return out;
}

Lines linesFor(const std::vector<std::string>& mx, const std::string& max_age) {
  Lines lines = {{"version", "STSv1"}, {"mode", "enforce"}};
  for (const auto& m : mx) lines.emplace_back("mx", m);
  lines.emplace_back("max_age", max_age);
  return lines;
}

}  // namespace

TEST_CASE("verdicts match the golden files byte for byte") {
  struct Case {
    std::string golden;
    std::vector<std::string> mx;
    Lines lines;
    VerdictFlavour flavour;
    std::string level;
    std::string failure;
  };
  const std::vector<std::string> two = {"mx1.example.com", "*.example.net"};
  const std::vector<std::string> one = {"mx.example.com"};
  const std::vector<Case> cases = {
      {"single_mx.txt", one, {}, VerdictFlavour::Plain, "secure", ""},
      {"wildcard.txt", {"*.example.net"}, {}, VerdictFlavour::Plain, "secure", ""},
      {"duplicates.txt",
       {"mx1.example.com", "MX1.example.com", "*.example.com", "mx1.example.com", "*.EXAMPLE.com"},
       {}, VerdictFlavour::Plain, "secure", ""},
      {"mixed.txt", {"a.example.com", "*.example.net", "mx.Example.org"}, {},
       VerdictFlavour::Plain, "secure", ""},
      {"tlsrpt.txt", two, linesFor(two, "604800"), VerdictFlavour::TlsRpt, "secure", ""},
      {"tlsrpt_policy_failure.txt", one, linesFor(one, "86400"), VerdictFlavour::TlsRpt, "secure",
       "sts-policy-invalid"},
      {"tlsrpt_unsafe_lines_dropped.txt", one,
       {{"version", "STSv1"}, {"mode", "enforce"}, {"mx", "mx.example.com"},
        {"ext", " a=b, c  "}, {"brace", "x{y"}, {"close", "x}"}, {"ctl", "a\tb"},
        {"nl", "a\nb"}, {"utf8", "caf\xc3\xa9"}, {"empty", ""}, {"", "no key"},
        {"nul", std::string("a\0b", 3)}, {"max_age", "86400"}},
       VerdictFlavour::TlsRpt, "secure", ""},
      {"dane_only_tlsrpt.txt", {"*.Example.com"}, {{"mx", "*.Example.com"}},
       VerdictFlavour::TlsRpt, "dane-only", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.golden);
    StsVerdictInput in;
    in.policy_domain = "example.com";
    in.level = c.level;
    in.mx = &c.mx;
    in.policy_lines = &c.lines;
    in.policy_failure = c.failure;
    const std::string got = verdict(in, c.flavour);
    const std::string want = readGolden(c.golden);
    INFO("got  '", got, "'\nwant '", want, "'");
    CHECK(got == want);
    const auto parsed = mtasts::test::parsePostfixPolicy(got);
    INFO("Postfix parse error: ", parsed.error);
    CHECK(parsed.error.empty());
    CHECK(parsed.level == c.level);
  }
}

TEST_CASE("Postfix's tokenizer reads back the patterns and policy strings we emit") {
  const std::vector<std::string> mx = {"mx1.example.com", "*.example.net", "mx1.example.com"};
  const Lines lines = {{"version", "STSv1"}, {"x-ext", "a b, c=d"}, {"mx", "mx1.example.com"}};
  StsVerdictInput in;
  in.policy_domain = "example.com";
  in.mx = &mx;
  in.policy_lines = &lines;
  in.policy_failure = "validation-failure";
  const auto parsed = mtasts::test::parsePostfixPolicy(verdict(in, VerdictFlavour::TlsRpt));
  REQUIRE(parsed.error.empty());
  CHECK(parsed.match == std::vector<std::string>{"mx1.example.com", ".example.net"});
  std::vector<std::string> strings, patterns;
  for (const auto& [name, value] : parsed.attributes) {
    if (name == "policy_string") strings.push_back(value);
    if (name == "mx_host_pattern") patterns.push_back(value);
  }
  CHECK(strings == std::vector<std::string>{"version: STSv1", "x-ext: a b, c=d", "mx: mx1.example.com"});
  CHECK(patterns == std::vector<std::string>{"mx1.example.com", "*.example.net"});
  CHECK(parsed.attributes.back() == std::pair<std::string, std::string>{"policy_failure", "validation-failure"});
}

TEST_CASE("verdict is refused rather than emitting something Postfix rejects") {
  const std::vector<std::string> empty;
  const std::vector<std::string> invalid = {"mx:1.example.com", "bad host", "*.", "", "*.-x.com"};
  const std::vector<std::string> good = {"mx.example.com"};
  struct Case {
    const char* why;
    const std::vector<std::string>* mx;
    std::string level;
    std::string domain;
    std::string failure;
    VerdictFlavour flavour;
  };
  const Case cases[] = {
      {"null mx", nullptr, "secure", "example.com", "", VerdictFlavour::Plain},
      {"empty mx", &empty, "secure", "example.com", "", VerdictFlavour::Plain},
      {"only invalid mx", &invalid, "secure", "example.com", "", VerdictFlavour::Plain},
      {"unknown level", &good, "verify", "example.com", "", VerdictFlavour::Plain},
      {"level with space", &good, "secure x=y", "example.com", "", VerdictFlavour::Plain},
      {"invalid policy_domain", &good, "secure", "exa mple.com", "", VerdictFlavour::TlsRpt},
      {"empty policy_domain", &good, "secure", "", "", VerdictFlavour::TlsRpt},
      {"unknown policy_failure", &good, "secure", "example.com", "dns-failure",
       VerdictFlavour::TlsRpt},
  };
  for (const Case& c : cases) {
    CAPTURE(c.why);
    StsVerdictInput in;
    in.mx = c.mx;
    in.level = c.level;
    in.policy_domain = c.domain;
    in.policy_failure = c.failure;
    std::string out = "untouched";
    CHECK_FALSE(appendStsVerdict(out, in, c.flavour));
    CHECK(out == "untouched");
  }
}

TEST_CASE("plain verdicts ignore the TLSRPT-only inputs") {
  const std::vector<std::string> mx = {"mx.example.com"};
  const Lines lines = {{"version", "STSv1"}};
  StsVerdictInput in;
  in.policy_domain = "not a domain";  // unused in Plain
  in.mx = &mx;
  in.policy_lines = &lines;
  in.policy_failure = "sts-policy-invalid";
  std::string out = "OK ";
  REQUIRE(appendStsVerdict(out, in, VerdictFlavour::Plain));
  CHECK(out == "OK secure match=mx.example.com servername=hostname");
}

TEST_CASE("oversized policies drop policy strings but keep the verdict under the reply limit") {
  std::vector<std::string> mx = {"mx.example.com"};
  Lines lines;
  for (int i = 0; i < 5000; ++i) lines.emplace_back("x-pad", std::string(40, 'p'));
  StsVerdictInput in;
  in.policy_domain = "example.com";
  in.mx = &mx;
  in.policy_lines = &lines;
  in.policy_failure = "sts-policy-invalid";
  const std::string got = verdict(in, VerdictFlavour::TlsRpt);
  CHECK(got.size() <= kMaxVerdictBytes);
  CHECK(got.size() > kMaxVerdictBytes - 100);
  const auto parsed = mtasts::test::parsePostfixPolicy(got);
  CHECK(parsed.error.empty());
  CHECK(parsed.attributes.back().first == "policy_failure");

  // So many distinct mx patterns that match= alone is too long: refuse.
  std::vector<std::string> many;
  for (int i = 0; i < 4000; ++i) many.push_back("mx" + std::to_string(i) + ".example.com");
  in.mx = &many;
  std::string out;
  CHECK_FALSE(appendStsVerdict(out, in, VerdictFlavour::TlsRpt));
  CHECK(out.empty());
}

TEST_CASE("long mx lists drop case-insensitive duplicates like short ones do") {
  // Over 32 patterns the duplicate check switches from pairwise to a hash set.
  for (const int count : {4, 200}) {
    CAPTURE(count);
    std::vector<std::string> mx;
    std::string want = "secure match=";
    for (int i = 0; i < count; ++i) {
      const std::string name = "mx" + std::to_string(i) + ".example.com";
      mx.push_back(name);
      mx.push_back("MX" + std::to_string(i) + ".Example.COM");  // same match form
      mx.push_back("*." + name);
      mx.push_back("*.Mx" + std::to_string(i) + ".example.com");  // same match form
      want += (i ? ":" : "") + name + ":." + name;
    }
    want += " servername=hostname";
    StsVerdictInput in;
    in.policy_domain = "example.com";
    in.mx = &mx;
    std::string out = "prefix ";
    REQUIRE(appendStsVerdict(out, in, VerdictFlavour::Plain));
    CHECK(out == "prefix " + want);
  }
}

TEST_CASE("a verdict refused for its size leaves the output as it was") {
  std::vector<std::string> mx;  // 2,000 distinct 60-byte names: a match= list over 99,000 bytes
  for (int i = 0; i < 2000; ++i) mx.push_back(std::string(50, 'm') + std::to_string(100000 + i) + ".example");
  StsVerdictInput in;
  in.policy_domain = "example.com";
  in.mx = &mx;
  for (const auto flavour : {VerdictFlavour::Plain, VerdictFlavour::TlsRpt}) {
    std::string out = "OK ";
    CHECK_FALSE(appendStsVerdict(out, in, flavour));
    CHECK(out == "OK ");
  }
}
