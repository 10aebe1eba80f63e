#include "tlsrpt/ehlo_name.hpp"

#include <doctest/doctest.h>

#include <string>

using mtasts::tlsrpt::heloNameFromEhlo;

TEST_CASE("heloNameFromEhlo takes the name after 250 on the first line of an EHLO reply") {
  struct Case {
    std::string name;
    std::string response;
    std::string want;
  };
  const Case cases[] = {
      {"Postfix 3.11 capture (pf311-bad-202)",
       "250-receiver-127.0.50.11\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP",
       "receiver-127.0.50.11"},
      {"one-line reply", "250 mx.example.com", "mx.example.com"},
      {"greeting after the name", "250-mx.example.com Hello [192.0.2.25]\r\n250 PIPELINING",
       "mx.example.com"},
      {"single-line reply with a greeting", "250 mx.example.com at your service", "mx.example.com"},
      {"upper case is folded", "250-MX1.Example.COM\r\n250 SIZE", "mx1.example.com"},
      {"one trailing dot is dropped", "250-mx.example.com.\r\n250 SIZE", "mx.example.com"},
      {"LF-only line ends", "250-mx.example.com\n250 SIZE", "mx.example.com"},
      {"IPv4 address literal kept as sent", "250-[192.0.2.7]\r\n250 SIZE", "[192.0.2.7]"},
      {"IPv6 address literal kept as sent", "250 [IPv6:2001:db8::7]", "[IPv6:2001:db8::7]"},
      {"IPv6 tag in lower case", "250 [ipv6:2001:db8::7] hi", "[ipv6:2001:db8::7]"},
      {"a bare name (libtlsrpt API callers)", "mx1.f202.example", "mx1.f202.example"},
      {"single-label name", "250 localhost", "localhost"},
      {"a bare name that starts with digits", "123-mx.example", ""},
      {"A-label", "250 xn--mnchen-3ya.example", "xn--mnchen-3ya.example"},
      // Unknown: the report then leaves receiving-mx-helo out.
      {"empty", "", ""},
      {"code only", "250", ""},
      {"code and separator only", "250-\r\n250 SIZE", ""},
      {"two spaces after the code", "250  mx.example.com", ""},
      {"another reply code", "220 mx.example.com ESMTP", ""},
      {"a 5xx refusal", "554 5.7.1 go away", ""},
      {"code glued to the name", "250mx.example.com", ""},
      {"underscore in the name", "250 mx_1.example.com", ""},
      {"label starting with a hyphen", "250 -mx.example.com", ""},
      {"non-ASCII name", "250 m\xC3\xBC" "nchen.example", ""},
      {"bad IPv4 literal", "250 [192.0.2.300]", ""},
      {"IPv6 literal without its tag", "250 [2001:db8::7]", ""},
      {"unclosed literal", "250 [192.0.2.7", ""},
      {"bare name with a space (json-escapes fixture)", "helo \"x\"\n", ""},
      {"name over 253 bytes", "250 " + std::string(250, 'a') + ".example", ""},
      {"the name only on the second line", "250-\r\n250 mx.example.com", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.response);
    CHECK(heloNameFromEhlo(c.response) == c.want);
  }
}
