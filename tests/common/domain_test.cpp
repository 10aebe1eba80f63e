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
