#include "common/domain.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts;

TEST_CASE("isValidHostname accepts LDH names and rejects everything else") {
  struct Case { std::string name; bool want; };
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  std::string name253;
  while (name253.size() < 253) name253 += (name253.empty() ? "" : ".") + std::string(61, 'b');
  name253.resize(253);
  const Case cases[] = {
      {"example.com", true},
      {"EXAMPLE.com", true},
      {"a", true},
      {"xn--bcher-kva.example", true},
      {"mx-1.example.com", true},
      {label63 + ".com", true},
      {label64 + ".com", false},
      {"", false},
      {".example.com", false},
      {"example..com", false},
      {"example.com.", false},
      {"-mx.example.com", false},
      {"mx-.example.com", false},
      {"under_score.example", false},
      {"sp ace.example", false},
      {"b\xc3\xbc" "cher.example", false},
      {std::string("nul\0byte", 8), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(isValidHostname(c.name) == c.want);
  }
  CHECK(name253.size() == 253);
  CHECK(isValidHostname(name253.back() == '.' ? name253.substr(0, 252) : name253));
  CHECK_FALSE(isValidHostname(name253 + "c"));
}

TEST_CASE("isIpAddressLiteral recognises IPv4 and IPv6 only") {
  CHECK(isIpAddressLiteral("127.0.0.1"));
  CHECK(isIpAddressLiteral("192.0.2.1"));
  CHECK(isIpAddressLiteral("::1"));
  CHECK(isIpAddressLiteral("2001:db8::25"));
  CHECK_FALSE(isIpAddressLiteral("example.com"));
  CHECK_FALSE(isIpAddressLiteral("256.1.1.1"));
  CHECK_FALSE(isIpAddressLiteral(""));
  CHECK_FALSE(isIpAddressLiteral(std::string(100, '1')));
}

TEST_CASE("toLowerAscii folds ASCII letters only") {
  CHECK(toLowerAscii("GOOD.Test") == "good.test");
  CHECK(toLowerAscii("\xc3\x9c") == "\xc3\x9c");
  CHECK(equalsIgnoreCaseAscii("MX.Example", "mx.example"));
  CHECK_FALSE(equalsIgnoreCaseAscii("mx.example", "mx.exampl"));
}

TEST_CASE("hasNonAsciiByte finds bytes from 0x80 up") {
  CHECK_FALSE(hasNonAsciiByte("example.com"));
  CHECK_FALSE(hasNonAsciiByte(""));
  CHECK_FALSE(hasNonAsciiByte(std::string("a\0\x7f", 3)));
  CHECK(hasNonAsciiByte("b\xc3\xbc" "cher.example"));
  CHECK(hasNonAsciiByte("\x80"));
  CHECK(hasNonAsciiByte("example.co\xff"));
}

namespace {

// "a" repeated n times: labels whose A-label length is known exactly.
std::string as(std::size_t n) { return std::string(n, 'a'); }

}  // namespace

TEST_CASE("toALabels converts U-labels to A-labels as Postfix does (UTS 46 non-transitional)") {
  struct Case { std::string name; std::string want; std::string note; };
  const Case cases[] = {
      {"B\xc3\xbc" "cher.example", "xn--bcher-kva.example", "capital ASCII letter, one U-label"},
      {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", "lower case"},
      {"B\xc3\x9c" "CHER.EXAMPLE", "xn--bcher-kva.example", "upper-case U-label is case-folded"},
      {"\xc3\x84\xc3\x96\xc3\x9c.example", "xn--4ca0bs.example", "only upper-case umlauts: \xc3\xa4\xc3\xb6\xc3\xbc"},
      {"\xc3\xa4\xc3\xb6\xc3\xbc.example", "xn--4ca0bs.example", "same name in lower case"},
      {"Bu\xcc\x88" "cher.example", "xn--bcher-kva.example", "decomposed u + U+0308 normalised to NFC"},
      {"\xe4\xb8\xad\xe6\x96\x87.example", "xn--fiq228c.example", "Chinese label"},
      {"\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", "xn--fsqu00a.xn--0zwm56d", "Chinese name, all labels"},
      {"\xd9\x85\xd8\xab\xd8\xa7\xd9\x84.\xd8\xa5\xd8\xae\xd8\xaa\xd8\xa8\xd8\xa7\xd8\xb1",
       "xn--mgbh0fb.xn--kgbechtv", "right-to-left labels that keep the bidi rule"},
      {"stra\xc3\x9f" "e.de", "xn--strae-oqa.de", "sharp s kept (non-transitional), not strasse.de"},
      {"\xcf\x82oly.de", "xn--oly-lzc.de", "final sigma kept (non-transitional)"},
      {"b\xc3\xbc" "cher.example.", "xn--bcher-kva.example", "trailing dot dropped"},
      {"b\xc3\xbc" "cher.example\xe3\x80\x82", "xn--bcher-kva.example", "trailing ideographic full stop dropped"},
      {"b\xc3\xbc" "cher\xe3\x80\x82" "example", "xn--bcher-kva.example", "ideographic full stop separates labels"},
      {"b\xc3\xbc" "cher.xn--bcher-kva.example", "xn--bcher-kva.xn--bcher-kva.example", "mixed U- and A-labels"},
      {"b\xc3\xbc" "cher.XN--BCHER-KVA.Example", "xn--bcher-kva.xn--bcher-kva.example", "mixed, upper-case A-label"},
      {"\xef\xbc\xa7\xef\xbc\xaf\xef\xbc\xaf\xef\xbc\xa4.test", "good.test", "full-width letters map to ASCII"},
      {"\xc3\xbc" + as(55) + ".example", "xn--" + as(55) + "-oxf.example", "a 63-byte A-label"},
      {"\xc3\xbc" + as(55) + "." + as(63) + "." + as(63) + "." + as(61),
       "xn--" + as(55) + "-oxf." + as(63) + "." + as(63) + "." + as(61), "253 bytes after conversion"},
      {"Example.COM", "example.com", "pure ASCII: lower-cased"},
      {"Example.COM.", "example.com", "pure ASCII with trailing dot"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example", "ASCII A-label kept"},
      {"XN--BCHER-KVA.example", "xn--bcher-kva.example", "ASCII A-label lower-cased"},
      {"xn--zz.example", "xn--zz.example", "pure ASCII is not IDNA-checked (as Postfix sends it to DNS)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.note);
    CAPTURE(c.name);
    const auto got = toALabels(c.name);
    REQUIRE_MESSAGE(got.has_value(), "got error: ", got.error().detail);
    CHECK(*got == c.want);
    CHECK(isValidHostname(*got));
    CHECK(toLowerAscii(*got) == *got);
  }
}

TEST_CASE("toALabels refuses invalid names with a reason") {
  struct Case { std::string name; IdnaError want; std::string note; };
  std::string long_utf8 = "\xc3\xbc" + as(55);  // 63 bytes as A-label
  for (int i = 0; i < 3; ++i) long_utf8 += "." + as(63);
  // 63 (A-label) + 63 + 63 + 62 + 3 dots = 254 bytes after conversion, one over.
  const std::string utf8_254 = "\xc3\xbc" + as(55) + "." + as(63) + "." + as(63) + "." + as(62);
  long_utf8 += "." + as(1);  // 63 * 4 + 3 dots + 2 = 257 bytes after conversion
  const Case cases[] = {
      {"\xf0\x9f\x92\xa9.example", IdnaError::Disallowed, "emoji (IDNA2008 DISALLOWED)"},
      {"\xe2\x98\x83.example", IdnaError::Disallowed, "snowman symbol"},
      {"\xc3\x28.example", IdnaError::InvalidUtf8, "truncated two-byte sequence"},
      {"\xc0\xaf.example", IdnaError::InvalidUtf8, "overlong encoding of '/'"},
      {"\xed\xa0\x80.example", IdnaError::InvalidUtf8, "UTF-16 surrogate"},
      {"\xf4\x90\x80\x80.example", IdnaError::InvalidUtf8, "above U+10FFFF"},
      {"\xff\xfe.example", IdnaError::InvalidUtf8, "bytes that never occur in UTF-8"},
      {"b\xc3\xbc" "cher.exampl\xc3", IdnaError::InvalidUtf8, "cut in the middle of a sequence"},
      {std::string("b\xc3\xbc\0cher.example", 14), IdnaError::InvalidUtf8, "NUL byte"},
      {"\xc3\xbc" + as(56) + ".example", IdnaError::LabelTooLong, "a 64-byte A-label"},
      {long_utf8, IdnaError::NameTooLong, "257 bytes after conversion"},
      {utf8_254, IdnaError::NameTooLong, "254 bytes after conversion"},
      {std::string(MaxIdnaInputBytes + 1, 'a') + "\xc3\xbc", IdnaError::NameTooLong, "input over the bound"},
      {"a\xd8\xa8.example", IdnaError::Bidi, "Latin then Arabic in one label"},
      {"a\xe2\x80\x8d" "b\xc3\xbc.example", IdnaError::ContextRule, "ZWJ outside a virama context"},
      {"-b\xc3\xbc" "cher.example", IdnaError::HyphenRule, "leading hyphen"},
      {"b\xc3\xbc" "cher.ab--cd.example", IdnaError::HyphenRule, "ASCII label with -- at 3-4 in a U-name"},
      {"\xcc\x88" "bc.example", IdnaError::LeadingCombining, "label starts with U+0308"},
      {"b\xc3\xbc" "cher.xn--zz.example", IdnaError::BadALabel, "bad Punycode beside a U-label"},
      {"b\xc3\xbc" "cher.xn--bcher-kvb.example", IdnaError::Disallowed, "A-label of a disallowed U-label"},
      {"b\xc3\xbc" "cher..example", IdnaError::NotHostname, "empty label"},
      {"\xe3\x80\x82" "b\xc3\xbc" "cher.example", IdnaError::NotHostname, "leading full stop"},
      {"b\xc3\xbc" "cher_x.example", IdnaError::NotHostname, "underscore"},
      {"b\xc3\xbc" "cher.example..", IdnaError::NotHostname, "two trailing dots"},
      {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1", IdnaError::IpLiteral, "full-width digits make 127.0.0.1"},
      {"", IdnaError::NotHostname, "empty"},
      {"-bad-.test", IdnaError::NotHostname, "ASCII, not LDH"},
      {"127.0.0.1", IdnaError::IpLiteral, "ASCII IP address"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.note);
    CAPTURE(c.name);
    std::string out;
    const IdnaError got = convertToALabels(c.name, out);
    INFO("got ", idnaErrorText(got), " out='", out, "'");
    CHECK(got == c.want);
    const auto result = toALabels(c.name);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::InvalidInput);
    CHECK(result.error().detail == idnaErrorText(c.want));
  }
}

TEST_CASE("every IDNA error has its own printable reason") {
  const IdnaError all[] = {IdnaError::InvalidUtf8, IdnaError::NameTooLong, IdnaError::LabelTooLong,
                           IdnaError::Disallowed, IdnaError::Bidi, IdnaError::ContextRule,
                           IdnaError::HyphenRule, IdnaError::LeadingCombining, IdnaError::BadALabel,
                           IdnaError::NotHostname, IdnaError::IpLiteral, IdnaError::Other};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    const std::string_view text = idnaErrorText(all[i]);
    CAPTURE(text);
    CHECK(text.rfind("invalid name: ", 0) == 0);
    CHECK_FALSE(hasNonAsciiByte(text));
    for (std::size_t j = 0; j < i; ++j) CHECK(idnaErrorText(all[j]) != text);
  }
}
