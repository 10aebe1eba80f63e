// parseDatagram on hand-made input: the libtlsrpt quirks it must accept, every way a
// datagram can be malformed (each with the reason it must name), and the bounds.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/tlsrpt/libtlsrpt_writer.hpp"
#include "tlsrpt/datagram.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

// pf311-bad-202-certificate-host-mismatch.dgram, byte for byte.
const std::string Base =
    R"({"dpv": "1","d": "bad.test","pr": "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test","policies":[{"policy-type":2,"policy-domain": "bad.test","policy-string":["version: STSv1","mode: enforce","mx: mx.bad.test","max_age: 86400"],"mx-host":["mx.bad.test"],"failure-details":[{"c":202,"s": "127.0.50.20","n": "mx.bad.test","h": "250-receiver-127.0.50.11\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP","r": "127.0.50.11"}],"t":1,"f":1}]})";

// Base with the first occurrence of from replaced by to.
std::string with(const std::string& from, const std::string& to, std::string base = Base) {
  const auto at = base.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "test input lacks " << from);
  return base.replace(at, from.size(), to);
}

// A success datagram with the given policies array contents.
std::string withPolicies(const std::string& policies) {
  return R"({"dpv": "1","d": "x.test","pr": "v=TLSRPTv1; rua=mailto:r@x.test","policies":[)" + policies + "]}";
}
const std::string OnePolicy = R"({"policy-type":2,"policy-domain": "x.test","t":0,"f":0})";

std::string repeated(const std::string& item, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + item;
  return out;
}

Datagram parsed(const std::string& bytes) {
  auto got = parseDatagram(bytes);
  REQUIRE_MESSAGE(got.has_value(), got.error().detail);
  return std::move(got).value();
}

}  // namespace

TEST_CASE("the base datagram is the Postfix fixture and parses") {
  const Datagram d = parsed(Base);
  CHECK(d.domain == "bad.test");
  CHECK(testing::writeLibtlsrptDatagram(d) == Base);
  CHECK(d.warnings == DatagramWarnings{});
}

TEST_CASE("parseDatagram accepts any JSON spelling of the same content") {
  const Datagram want = parsed(Base);
  struct Case {
    std::string name;
    std::string input;
  };
  const Case cases[] = {
      {"whitespace around everything",
       " \r\n\t" + with("\"policies\":[{", "\"policies\" :\n [ {\t") + "\n"},
      {"a trailing newline (a hand-made sender's echo)", Base + "\n"},
      {"members in another order",
       R"({"policies":[{"f":1,"t":1,"failure-details":[{"r": "127.0.50.11","c":202,"h": "250-receiver-127.0.50.11\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP","n": "mx.bad.test","s": "127.0.50.20"}],"mx-host":["mx.bad.test"],"policy-string":["version: STSv1","mode: enforce","mx: mx.bad.test","max_age: 86400"],"policy-domain": "bad.test","policy-type":2}],"pr": "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test","d": "bad.test","dpv": "1"})"},
      {"escaped member names and values", with(R"("d": "bad.test")", R"("\u0064": "b\u0061d.test")")},
      {"escaped plain characters", with(R"("max_age: 86400")", R"("max_age: 86400")")},
      {"domains in upper case", with(R"("d": "bad.test")", R"("d": "BAD.Test")")},
      {"domains with a trailing dot", with(R"("policy-domain": "bad.test")", R"("policy-domain": "bad.test.")")},
      {"receiving MX name in upper case", with(R"("n": "mx.bad.test")", R"("n": "MX.BAD.TEST.")")},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(parsed(c.input) == want);
  }
}

TEST_CASE("parseDatagram keeps libtlsrpt's quirks and flags the odd ones") {
  SUBCASE("empty strings read as absent: Postfix sends \"s\": \"\" when getsockname fails") {
    const Datagram d = parsed(with(R"("s": "127.0.50.20")", R"("s": "")"));
    CHECK(d.policies[0].failure_details[0].sending_mta_ip.empty());
    const Datagram e = parsed(with(R"("policy-domain": "bad.test")", R"("policy-domain": "")"));
    CHECK(e.policies[0].policy.domain.empty());
  }
  SUBCASE("empty arrays, which libtlsrpt leaves out, are accepted") {
    const Datagram d = parsed(withPolicies(
        R"({"policy-type":2,"policy-string":[],"mx-host":[],"failure-details":[],"t":0,"f":0})"));
    CHECK(d.policies[0].policy.strings.empty());
    CHECK(d.policies[0].policy.mx_hosts.empty());
    CHECK(d.policies[0].failure_details.empty());
  }
  SUBCASE("a t that is not the number of failure details is kept and flagged, not trusted") {
    const Datagram d = parsed(with(R"("t":1)", R"("t":5)"));
    CHECK(d.policies[0].failure_count == 5);
    CHECK(d.policies[0].failure_details.size() == 1);
    CHECK(d.warnings.failure_count_mismatch);
    CHECK_FALSE(parsed(Base).warnings.failure_count_mismatch);
  }
  SUBCASE("failure details on a success are kept and flagged") {
    const Datagram d = parsed(with(R"("t":1,"f":1)", R"("t":1,"f":0)"));
    CHECK_FALSE(d.policies[0].failed);
    CHECK(d.policies[0].failure_details.size() == 1);
    CHECK(d.warnings.details_on_success);
  }
  SUBCASE("unknown members are skipped at every level and flagged") {
    std::string input = with(R"({"dpv": "1",)", R"({"dpv": "1","x-top": {"a":[1,2,{"b":null}]},)");
    input = with(R"("policy-type":2,)", R"("policy-type":2,"x-policy": [true, false, -1.5e3],)", input);
    input = with(R"("c":202,)", R"("c":202,"x-detail": "\u00e4\ud83d\ude00",)", input);
    const Datagram d = parsed(input);
    CHECK(d.warnings.unknown_members_skipped);
    Datagram want = parsed(Base);
    want.warnings.unknown_members_skipped = true;
    CHECK(d == want);
  }
  SUBCASE("an unknown member repeated is skipped twice, a known one repeated is refused") {
    CHECK(parsed(with(R"("dpv": "1",)", R"("dpv": "1","x": 1,"x": 2,)")).warnings.unknown_members_skipped);
  }
  SUBCASE("invalid UTF-8 in a skipped member replaces nothing that is kept") {
    const Datagram d = parsed(with(R"("dpv": "1",)", "\"dpv\": \"1\",\"x\": \"\xe4\","));
    CHECK_FALSE(d.warnings.invalid_utf8_replaced);
  }
  SUBCASE("invalid UTF-8 in any kept string becomes U+FFFD and is flagged") {
    const Datagram d = parsed(with("250 HELP", "250 H\xe4LP\xff"));
    CHECK(d.policies[0].failure_details[0].ehlo_response.find("250 H\xEF\xBF\xBDLP\xEF\xBF\xBD") !=
          std::string::npos);
    CHECK(d.warnings.invalid_utf8_replaced);
  }
  SUBCASE("policy-domain may be absent for every policy type") {
    for (const char* type : {"1", "2", "9"}) {
      CAPTURE(type);
      const Datagram d = parsed(withPolicies(std::string(R"({"policy-type":)") + type + R"(,"t":0,"f":0})"));
      CHECK(d.policies[0].policy.domain.empty());
    }
  }
  SUBCASE("the receiving MX name may be an IP address, addresses may be IPv6") {
    const Datagram d = parsed(with(R"("n": "mx.bad.test")", R"("n": "2001:db8::25")",
                                   with(R"("r": "127.0.50.11")", R"("r": "2001:db8::25")",
                                        with(R"("s": "127.0.50.20")", R"("s": "::ffff:192.0.2.1")"))));
    CHECK(d.policies[0].failure_details[0].receiving_mx_hostname == "2001:db8::25");
    CHECK(d.policies[0].failure_details[0].receiving_ip == "2001:db8::25");
    CHECK(d.policies[0].failure_details[0].sending_mta_ip == "::ffff:192.0.2.1");
  }
  SUBCASE("the TLSRPT record and policy strings are kept verbatim, case included") {
    const Datagram d = parsed(with(R"("pr": "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test")",
                                   R"("pr": "v=TLSRPTv1;RUA=MAILTO:X@Bad.Test, https://X.test/r")"));
    CHECK(d.tlsrpt_record == "v=TLSRPTv1;RUA=MAILTO:X@Bad.Test, https://X.test/r");
  }
}

TEST_CASE("parseDatagram refuses malformed datagrams and names the reason") {
  struct Case {
    std::string name;
    std::string input;
    std::string reason;  // a fragment of Error::detail
    ErrorCode code = ErrorCode::InvalidInput;
  };
  const std::string Long(MaxStringBytes + 1, 'x');
  const Case cases[] = {
      // Not a datagram at all.
      {"empty", "", "empty datagram"},
      {"not JSON", "hello", "datagram: expected an object, found 'h'"},
      {"a JSON array", "[" + Base + "]", "expected an object, found '['"},
      {"only whitespace", " \n", "truncated, expected an object"},
      {"a byte-order mark first", "\xEF\xBB\xBF" + Base, "found byte 0xef"},
      // Truncation and trailing bytes.
      {"cut inside a string", Base.substr(0, 30), "truncated inside a string"},
      {"cut after a member", Base.substr(0, Base.find(",\"pr\"")), "truncated inside an object"},
      {"cut after a colon", Base.substr(0, Base.find("\"1\"")), "truncated, a member has no value"},
      {"cut inside the policies array", Base.substr(0, Base.size() - 2), "truncated inside an array"},
      {"the closing brace missing", Base.substr(0, Base.size() - 1), "truncated inside an object"},
      {"trailing garbage", Base + "x", "trailing bytes after the datagram's JSON object"},
      {"a C string's NUL terminator", Base + std::string(1, '\0'), "trailing bytes"},
      {"two datagrams in one", Base + Base, "trailing bytes"},
      // Protocol version.
      {"dpv 2", with(R"("dpv": "1")", R"("dpv": "2")"), "unsupported datagram protocol version \"2\""},
      {"dpv empty", with(R"("dpv": "1")", R"("dpv": "")"), "unsupported datagram protocol version \"\""},
      {"dpv a number", with(R"("dpv": "1")", R"("dpv": 1)"), "dpv: expected a string"},
      {"dpv missing", with(R"("dpv": "1",)", ""), "missing member \"dpv\""},
      // Required members.
      {"d missing", with(R"("d": "bad.test",)", ""), "missing member \"d\""},
      {"pr missing", with(R"("pr": "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test",)", ""), "missing member \"pr\""},
      {"policies missing", R"({"dpv": "1","d": "x.test","pr": "v=TLSRPTv1;"})", "missing member \"policies\""},
      {"policies empty", withPolicies(""), "policies: empty"},
      {"policy-type missing", withPolicies(R"({"t":0,"f":0})"), "policies[0]: missing member \"policy-type\""},
      {"t missing", withPolicies(R"({"policy-type":2,"f":0})"), "missing member \"t\""},
      {"f missing", withPolicies(R"({"policy-type":2,"t":0})"), "missing member \"f\""},
      {"c missing", with(R"("c":202,)", ""), "policies[0].failure-details[0]: missing member \"c\""},
      // Wrong JSON types.
      {"d a number", with(R"("d": "bad.test")", R"("d": 5)"), "d: expected a string"},
      {"pr null", with(R"("pr": "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test")", R"("pr": null)"), "pr: expected a string"},
      {"policies an object", R"({"dpv": "1","d": "x.test","pr": "v=TLSRPTv1;","policies":{}})",
       "policies: expected an array"},
      {"a policy that is a string", withPolicies(R"("sts")"), "policies[0]: policy: expected an object"},
      {"a policy that is an array", withPolicies("[]"), "policy: expected an object"},
      {"policy-type a string", with(R"("policy-type":2)", R"("policy-type":"2")"), "policy-type: expected a number"},
      {"policy-type true", with(R"("policy-type":2)", R"("policy-type":true)"), "policy-type: expected a number"},
      {"t a string", with(R"("t":1)", R"("t":"1")"), "t: expected a number"},
      {"f a boolean", with(R"("t":1,"f":1)", R"("t":1,"f":true)"), "f: expected a number"},
      {"c a string", with(R"("c":202)", R"("c":"202")"), "c: expected a number"},
      {"s a number", with(R"("s": "127.0.50.20")", R"("s": 2130719252)"), "s: expected a string"},
      {"policy-string a string", with(R"("policy-string":[)", R"("policy-string":"x","y":[)"),
       "policy-string: expected an array"},
      {"a policy string that is a number", with(R"("version: STSv1")", "5"), "policy-string: expected a string"},
      {"an mx-host null", with(R"(["mx.bad.test"])", "[null]"), "mx-host: expected a string"},
      {"failure-details an object", with(R"("failure-details":[{"c":202)", R"("failure-details":{"c":202)"),
       "failure-details: expected an array"},
      {"a failure detail that is a number", with(R"("failure-details":[{)", R"("failure-details":[1,{)"),
       "failure-details[0]: failure detail: expected an object"},
      // Codes out of range.
      {"policy-type 0", with(R"("policy-type":2)", R"("policy-type":0)"), "policy-type 0 is not 1, 2 or 9"},
      {"policy-type 3", with(R"("policy-type":2)", R"("policy-type":3)"), "policy-type 3 is not 1, 2 or 9"},
      {"policy-type -2", with(R"("policy-type":2)", R"("policy-type":-2)"), "policy-type -2 is not"},
      {"f 2", with(R"("t":1,"f":1)", R"("t":1,"f":2)"), "f 2 is not 0 or 1"},
      {"f -1", with(R"("t":1,"f":1)", R"("t":1,"f":-1)"), "f -1 is not 0 or 1"},
      {"t negative", with(R"("t":1)", R"("t":-1)"), "negative t -1"},
      {"c 200", with(R"("c":202)", R"("c":200)"), "unknown result code 200"},
      {"c 206", with(R"("c":202)", R"("c":206)"), "unknown result code 206"},
      {"c 300", with(R"("c":202)", R"("c":300)"), "unknown result code 300"},
      {"c 307", with(R"("c":202)", R"("c":307)"), "unknown result code 307"},
      {"c 901 (libtlsrpt's internal unfinished-policy code)", with(R"("c":202)", R"("c":901)"),
       "unknown result code 901"},
      // Numbers libtlsrpt's %d cannot write.
      {"a fraction and an exponent", with(R"("c":202)", R"("c":2.02e2)"), "fraction"},
      {"an exponent without a fraction", with(R"("c":202)", R"("c":202e0)"), "exponent (integers only)"},
      {"a fraction", with(R"("policy-type":2)", R"("policy-type":2.0)"), "fraction (integers only)"},
      {"a leading zero", with(R"("policy-type":2)", R"("policy-type":02)"), "leading zero"},
      {"a plus sign", with(R"("policy-type":2)", R"("policy-type":+2)"), "policy-type: expected a number"},
      {"ten digits", with(R"("t":1)", R"("t":1000000001)"), "more than 9 digits", ErrorCode::TooLarge},
      {"a huge number", with(R"("t":1)", R"("t":184467440737095516160)"), "more than 9 digits", ErrorCode::TooLarge},
      {"NaN", with(R"("t":1)", R"("t":NaN)"), "t: expected a number"},
      // Addresses and names.
      {"s out of range", with(R"("s": "127.0.50.20")", R"("s": "127.0.50.256")"), "s is not an IP address: \"127.0.50.256\""},
      {"s a hostname", with(R"("s": "127.0.50.20")", R"("s": "sender.test")"), "s is not an IP address"},
      {"s with a space", with(R"("s": "127.0.50.20")", R"("s": " 127.0.50.20")"), "s is not an IP address"},
      {"s with an escaped newline", with(R"("s": "127.0.50.20")", R"("s": "127.0.50.20\n")"), "s is not an IP address"},
      {"r three octets", with(R"("r": "127.0.50.11")", R"("r": "127.0.50")"), "r is not an IP address"},
      {"r bad IPv6", with(R"("r": "127.0.50.11")", R"("r": "2001:db8::g")"), "r is not an IP address"},
      {"r IPv6 with a zone", with(R"("r": "127.0.50.11")", R"("r": "fe80::1%eth0")"), "r is not an IP address"},
      {"d with an underscore", with(R"("d": "bad.test")", R"("d": "bad_x.test")"), "d is not a valid domain name: \"bad_x.test\""},
      {"d empty", with(R"("d": "bad.test")", R"("d": "")"), "d is not a valid domain name"},
      {"d a lone dot", with(R"("d": "bad.test")", R"("d": ".")"), "d is not a valid domain name"},
      {"d with an empty label", with(R"("d": "bad.test")", R"("d": "bad..test")"), "d is not a valid domain name"},
      {"d with a space", with(R"("d": "bad.test")", R"("d": "bad test")"), "d is not a valid domain name"},
      {"d a U-label", with(R"("d": "bad.test")", "\"d\": \"b\xc3\xa4" "d.test\""), "d is not a valid domain name"},
      {"d over 253 bytes", with(R"("d": "bad.test")", "\"d\": \"" + std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                                        std::string(63, 'c') + "." + std::string(63, 'd') + ".test\""),
       "d is not a valid domain name"},
      {"policy-domain a label of 64", with(R"("policy-domain": "bad.test")", "\"policy-domain\": \"" + std::string(64, 'a') + ".test\""),
       "invalid policy-domain"},
      {"n with a space", with(R"("n": "mx.bad.test")", R"("n": "mx bad.test")"), "n is not a hostname or IP address"},
      {"mx-host two wildcards", with(R"(["mx.bad.test"])", R"(["*.*.bad.test"])"), "invalid mx-host \"*.*.bad.test\""},
      {"mx-host a bare wildcard", with(R"(["mx.bad.test"])", R"(["*"])"), "invalid mx-host"},
      {"mx-host Postfix's .domain form", with(R"(["mx.bad.test"])", R"([".bad.test"])"), "invalid mx-host"},
      {"mx-host empty", with(R"(["mx.bad.test"])", R"([""])"), "invalid mx-host \"\""},
      // Repeated members: parsers disagree on which one wins, so none does.
      {"d twice", with(R"("d": "bad.test",)", R"("d": "bad.test","d": "evil.test",)"), "datagram: repeated member \"d\""},
      {"dpv twice", with(R"("dpv": "1",)", R"("dpv": "1","dpv": "1",)"), "repeated member \"dpv\""},
      {"policies twice", withPolicies(OnePolicy).insert(1, "\"policies\":[" + OnePolicy + "],"), "repeated member \"policies\""},
      {"f twice in a policy", with(R"("t":1,"f":1)", R"("t":1,"f":1,"f":0)"), "policies[0]: repeated member \"f\""},
      {"c twice in a detail", with(R"("c":202,)", R"("c":202,"c":201,)"), "failure-details[0]: repeated member \"c\""},
      {"a name spelt twice", with(R"("d": "bad.test",)", R"("d": "bad.test","\u0064": "bad.test",)"), "repeated member \"d\""},
      // JSON syntax.
      {"a trailing comma in an object", with(R"(,"t":1,"f":1})", R"(,"t":1,"f":1,})"), "expected a member name, found '}'"},
      {"a trailing comma in an array", with(R"("max_age: 86400"])", R"("max_age: 86400",])"), "trailing ',' before ']'"},
      {"a missing comma", with(R"("t":1,"f":1)", R"("t":1 "f":1)"), "expected ',' or '}' after a member"},
      {"a missing colon", with(R"("t":1)", R"("t" 1)"), "expected ':' after a member name"},
      {"single quotes", with(R"("d": "bad.test")", R"('d': 'bad.test')"), "expected a member name, found '''"},
      {"an unquoted name", with(R"("d": "bad.test")", R"(d: "bad.test")"), "expected a member name, found 'd'"},
      {"a raw byte outside strings", with(R"(,"pr")", "\xe4,\"pr\""), "found byte 0xe4"},
      {"a NUL between members", with(R"(,"pr")", std::string("\0,\"pr\"", 6)), "found byte 0x00"},
      {"a NUL instead of a value", with(R"("d": "bad.test")", std::string("\"d\": \0", 6)), "d: expected a string"},
      {"a comment", with(R"(,"pr")", "/*x*/,\"pr\""), "found '/'"},
      // Strings.
      {"an unknown escape", with("250 HELP", R"(250 \HELP)"), "invalid escape '\\H'"},
      {"a lone surrogate escape", with("250 HELP", R"(250 \ud800)"), "unpaired high surrogate \\ud800"},
      {"an escaped NUL", with("250 HELP", R"(250 \u0000)"), "\\u0000 (NUL)"},
      {"a raw control byte", with("250 HELP", "250 \x01"), "raw control byte 0x01"},
      {"a raw line feed", with("250 HELP", "250\nHELP"), "raw control byte 0x0a"},
      {"an over-long pr", with("v=TLSRPTv1; rua=mailto:tlsrpt@bad.test", Long), "string longer than 8192 bytes",
       ErrorCode::TooLarge},
      {"an over-long EHLO reply", with("250 HELP", Long), "string longer than 8192", ErrorCode::TooLarge},
      {"an over-long member name", with(R"("d": "bad.test",)", "\"" + std::string(65, 'n') + "\": 1,\"d\": \"bad.test\","),
       "string longer than 64 bytes", ErrorCode::TooLarge},
      // Too many entries.
      {"too many policies", withPolicies(repeated(OnePolicy, MaxPolicies + 1)), "more than 16 policies", ErrorCode::TooLarge},
      {"too many policy strings", with(R"("policy-string":[)", "\"policy-string\":[" + repeated("\"s\"", MaxPolicyStrings) + ","),
       "more than 256 policy-string entries", ErrorCode::TooLarge},
      {"too many mx hosts", with(R"("mx-host":[)", "\"mx-host\":[" + repeated("\"m.test\"", MaxMxHosts) + ","),
       "more than 256 mx-host entries", ErrorCode::TooLarge},
      {"too many failure details", with(R"("failure-details":[)", "\"failure-details\":[" + repeated("{\"c\":201}", MaxFailureDetails) + ","),
       "more than 64 failure-details", ErrorCode::TooLarge},
      {"a datagram over 64 KiB", Base + std::string(MaxDatagramBytes - Base.size() + 1, ' '), "datagram of 65537 bytes",
       ErrorCode::TooLarge},
      // Nested garbage in a member that would otherwise be skipped.
      {"nested too deep", with(R"("dpv": "1",)", "\"dpv\": \"1\",\"x\": " + std::string(17, '[') + std::string(17, ']') + ","),
       "values nested more than 16 deep", ErrorCode::TooLarge},
      {"nested garbage", with(R"("dpv": "1",)", R"("dpv": "1","x": {"a":[1,{"b":tru}]},)"), "malformed literal"},
      {"nested unterminated", with(R"("dpv": "1",)", R"("dpv": "1","x": {"a":[1,{"b":"x}]},)"),
       "expected ',' or '}' after a member, found 'd'"},
      {"a policy inside a policy", withPolicies("[" + OnePolicy + "]"), "policy: expected an object"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = parseDatagram(c.input);
    REQUIRE_FALSE_MESSAGE(got.has_value(), "accepted: " << testing::writeLibtlsrptDatagram(*got));
    CAPTURE(got.error().detail);
    CHECK(got.error().detail.find(c.reason) != std::string::npos);
    CHECK(got.error().code == c.code);
  }
}

TEST_CASE("every truncation of a real datagram is refused with a reason") {
  for (std::size_t n = 0; n < Base.size(); ++n) {
    CAPTURE(n);
    const auto got = parseDatagram(std::string_view(Base).substr(0, n));
    REQUIRE_FALSE(got.has_value());
    CHECK_FALSE(got.error().detail.empty());
  }
}

TEST_CASE("parseDatagram accepts input exactly at each bound") {
  CHECK(parsed(withPolicies(repeated(OnePolicy, MaxPolicies))).policies.size() == MaxPolicies);
  const std::size_t ehlo_rest = parsed(Base).policies[0].failure_details[0].ehlo_response.size() - 8;
  CHECK(parsed(with("250 HELP", std::string(MaxStringBytes - ehlo_rest, 'x')))
            .policies[0].failure_details[0].ehlo_response.size() == MaxStringBytes);
  CHECK(parsed(with(R"("policy-string":["version: STSv1",)",
                    "\"policy-string\":[" + repeated("\"s\"", MaxPolicyStrings - 3) + ","))
            .policies[0].policy.strings.size() == MaxPolicyStrings);
  CHECK(parsed(with(R"("mx-host":[)", "\"mx-host\":[" + repeated("\"m.test\"", MaxMxHosts - 1) + ","))
            .policies[0].policy.mx_hosts.size() == MaxMxHosts);
  CHECK(parsed(with(R"("failure-details":[)", "\"failure-details\":[" + repeated("{\"c\":201}", MaxFailureDetails - 1) + ","))
            .policies[0].failure_details.size() == MaxFailureDetails);
  CHECK(parsed(Base + std::string(MaxDatagramBytes - Base.size(), ' ')).domain == "bad.test");
  const std::string nested = std::string(16, '[') + std::string(16, ']');
  CHECK(parsed(with(R"("dpv": "1",)", "\"dpv\": \"1\",\"x\": " + nested + ",")).warnings.unknown_members_skipped);
}
