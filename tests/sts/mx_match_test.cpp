#include "sts/mx_match.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts::sts;

TEST_CASE("mxMatches follows RFC 8461 4.1") {
  struct Case {
    std::string pattern;
    std::string host;
    bool want;
  };
  const Case cases[] = {
      {"mx.example.com", "mx.example.com", true},
      {"mx.example.com", "MX.Example.COM", true},  // case-insensitive
      {"MX.EXAMPLE.COM", "mx.example.com", true},
      {"mx.example.com", "mx.example.com.", true},    // one trailing dot ignored
      {"mx.example.com", "mx.example.com..", false},  // only one
      {"mx.example.com", "mx2.example.com", false},
      {"mx.example.com", "a.mx.example.com", false},
      {"mx.example.com", "example.com", false},
      {"mx.example.com", "", false},
      {"mx.example.com", ".", false},
      {"*.example.com", "a.example.com", true},
      {"*.example.com", "A.EXAMPLE.com.", true},
      {"*.example.com", "example.com", false},      // wildcard needs one label
      {"*.example.com", "a.b.example.com", false},  // ...and only one
      {"*.example.com", ".example.com", false},     // empty label
      {"*.example.com", "aexample.com", false},
      {"*.example.com", "a.example.net", false},
      {"*.example.com", "*.example.com", true},  // '*' is just a label byte here
      {"", "mx.example.com", false},
      {"*.", "a.", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.host);
    CHECK(mxMatches(c.pattern, c.host) == c.want);
  }
}

TEST_CASE("anyMxMatches is true when one pattern matches") {
  const std::vector<std::string> patterns = {"mx1.example.com", "*.backup.example.net"};
  CHECK(anyMxMatches(patterns, "mx1.example.com"));
  CHECK(anyMxMatches(patterns, "b1.backup.example.net"));
  CHECK_FALSE(anyMxMatches(patterns, "mx2.example.com"));
  CHECK_FALSE(anyMxMatches(patterns, "backup.example.net"));
  CHECK_FALSE(anyMxMatches({}, "mx1.example.com"));
}

TEST_CASE("isValidMxPattern accepts hostnames and one leading wildcard label only") {
  struct Case {
    std::string pattern;
    bool want;
  };
  const Case cases[] = {
      {"mx.example.com", true},
      {"MX.Example.COM", true},
      {"*.example.com", true},
      {"xn--bcher-kva.example", true},
      {"localhost", true},
      {"*.*.example.com", false},
      {"*example.com", false},
      {"mx.*.example.com", false},
      {"*.", false},
      {"*", false},
      {"192.0.2.1", false},
      {"*.192.0.2.1", false},
      {"2001:db8::1", false},
      {"[192.0.2.1]", false},
      {"mx.exa_mple.com", false},
      {"b\xc3\xbc"
       "cher.example",
       false},
      {"mx.example.com.", false},
      {".example.com", false},
      {"", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.pattern);
    CHECK(isValidMxPattern(c.pattern) == c.want);
  }
}
