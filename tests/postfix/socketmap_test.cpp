#include "postfix/socketmap.hpp"

#include "common/domain.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts;
using namespace mtasts::postfix;

TEST_CASE("socketmap request splits at the first space") {
  struct Case { std::string payload; bool ok; std::string map; std::string key; };
  const Case cases[] = {
      {"postfix example.com", true, "postfix", "example.com"},
      {"postfix-tlsrpt GOOD.Test", true, "postfix-tlsrpt", "GOOD.Test"},
      {"postfix a b", true, "postfix", "a b"},
      {"postfix ", true, "postfix", ""},
      {"postfix  x", true, "postfix", " x"},
      {"postfix", false, "", ""},
      {"", false, "", ""},
      {" example.com", false, "", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.payload);
    const auto got = parseSocketmapRequest(c.payload);
    REQUIRE(got.has_value() == c.ok);
    if (c.ok) {
      CHECK(got->map_name == c.map);
      CHECK(got->key == c.key);
    } else {
      CHECK(got.error().code == ErrorCode::InvalidInput);
      CHECK_FALSE(got.error().detail.empty());
    }
  }
}

TEST_CASE("policy keys are normalised or skipped with a reason") {
  struct Case { std::string key; std::string domain; std::string reason; };
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 labels of 63 + 3 dots = 255; cut to exactly 253 and 254 bytes ending in a letter.
  std::string long_name = label63 + "." + label63 + "." + label63 + "." + label63;
  const std::string name253 = long_name.substr(0, 253);
  const std::string name254 = long_name.substr(0, 254);
  const Case cases[] = {
      {"GOOD.Test", "good.test", ""},
      {"example.com", "example.com", ""},
      {"example.com.", "example.com", ""},
      {"Example.COM.", "example.com", ""},
      {"example.com..", "", "invalid name"},
      {".example.com", "", "parent domain query"},
      {".com", "", "parent domain query"},
      {".", "", "parent domain query"},
      {"[192.0.2.1]:25", "", "IP literal"},
      {"[192.0.2.1]", "", "IP literal"},
      {"192.0.2.1:25", "", "IP literal"},
      {"[mx.example.com]:587", "mx.example.com", ""},
      {"[MX.Example.com]", "mx.example.com", ""},
      {"[mx.example.com.]:smtp", "mx.example.com", ""},
      {"example.com:25", "example.com", ""},
      {"example.com:submission", "example.com", ""},
      {"127.0.0.1", "", "IP literal"},
      {"::1", "", "IP literal"},
      {"2001:db8::25", "", "IP literal"},
      {"[ipv6:2001:db8::1]", "", "IP literal"},
      {"[IPv6:2001:db8::1]:25", "", "IP literal"},
      {"[2001:db8::1]", "", "IP literal"},
      {label63 + ".example", label63 + ".example", ""},
      {label64 + ".example", "", "invalid name"},
      {name253, name253, ""},
      {name254, "", "invalid name"},
      {"a_b.example", "", "invalid name"},
      {"exa mple.com", "", "invalid name"},
      {"", "", "empty key"},
      {"example..com", "", "invalid name"},
      {"[mx.example.com", "", "invalid name"},
      {"[mx.example.com]x", "", "invalid name"},
      {"[mx.example.com]:", "", "invalid name"},
      {"[]", "", "invalid name"},
      {"example.com:", "", "invalid name"},
      {"a:b:c", "", "invalid name"},
      {"/var/spool/postfix/private/lmtp", "", "invalid name"},
      {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", ""},
      {"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
      {std::string("ex\0ample.com", 12), "", "invalid name"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.key);
    const PolicyKey got = normalizePolicyKey(c.key);
    INFO("got domain='", got.domain(), "' reason='", got.skip_reason, "'");
    CHECK(got.domain() == c.domain);
    CHECK(got.skip_reason == c.reason);
    CHECK((got.domain().empty() || isValidHostname(got.domain())));
    CHECK(got.domain().empty() != got.skip_reason.empty());
  }
}

TEST_CASE("UTF-8 policy keys become their A-label form or are skipped with the IDNA reason") {
  struct Case { std::string key; std::string domain; std::string reason; };
  const std::string invalid_utf8 = std::string(idnaErrorText(IdnaError::InvalidUtf8));
  const Case cases[] = {
      {"B\xc3\xbc" "cher.example", "xn--bcher-kva.example", ""},
      {"B\xc3\x9c" "CHER.Example", "xn--bcher-kva.example", ""},
      {"b\xc3\xbc" "cher.example.", "xn--bcher-kva.example", ""},
      {"[b\xc3\xbc" "cher.example]:25", "xn--bcher-kva.example", ""},
      {"[B\xc3\xbc" "cher.example.]", "xn--bcher-kva.example", ""},
      {"b\xc3\xbc" "cher.example:smtp", "xn--bcher-kva.example", ""},
      {"mx.b\xc3\xbc" "cher.xn--bcher-kva.example", "mx.xn--bcher-kva.xn--bcher-kva.example", ""},
      {"\xe4\xb8\xad\xe6\x96\x87.example", "xn--fiq228c.example", ""},
      {"stra\xc3\x9f" "e.de", "xn--strae-oqa.de", ""},
      // After NOTFOUND Postfix walks up with a leading ASCII dot: skipped before any IDNA.
      {".b\xc3\xbc" "cher.example", "", "parent domain query"},
      {"\xf0\x9f\x92\xa9.example", "", std::string(idnaErrorText(IdnaError::Disallowed))},
      {"\xc3\x28.example", "", invalid_utf8},
      {"[\xff]", "", invalid_utf8},
      {"a\xd8\xa8.example", "", std::string(idnaErrorText(IdnaError::Bidi))},
      {"\xc3\xbc" + std::string(56, 'a') + ".example", "", std::string(idnaErrorText(IdnaError::LabelTooLong))},
      {"b\xc3\xbc" "cher.xn--zz.example", "", std::string(idnaErrorText(IdnaError::BadALabel))},
      {"b\xc3\xbc" "cher..example", "", std::string(idnaErrorText(IdnaError::NotHostname))},
      {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1", "", "IP literal"},
      {"[\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1]:25", "", "IP literal"},
      {std::string(20000, '\xc3'), "", std::string(idnaErrorText(IdnaError::NameTooLong))},
  };
  for (const Case& c : cases) {
    CAPTURE(c.key);
    const PolicyKey got = normalizePolicyKey(c.key);
    INFO("got domain='", got.domain(), "' reason='", got.skip_reason, "'");
    CHECK(got.domain() == c.domain);
    CHECK(got.skip_reason == c.reason);
    CHECK((got.domain().empty() || isValidHostname(got.domain())));
    CHECK(got.domain().empty() != got.skip_reason.empty());
  }
}

TEST_CASE("ASCII keys keep their path: an ASCII A-label is not IDNA-checked") {
  // RFC 5891 5.3 lets a lookup validate an A-label (MAY); Postfix does not for ASCII next
  // hops and resolves them as they are, so refusing them here would only drop their policy.
  CHECK(normalizePolicyKey("xn--zz.example").domain() == "xn--zz.example");
  CHECK(normalizePolicyKey("XN--BCHER-KVA.Example").domain() == "xn--bcher-kva.example");
  CHECK(normalizePolicyKey("ab--cd.example").domain() == "ab--cd.example");
}

TEST_CASE("socketmap replies use Postfix's status words") {
  struct Case { ReplyStatus status; std::string data; std::string want; };
  const Case cases[] = {
      {ReplyStatus::Ok, "secure match=mx.example.com servername=hostname",
       "OK secure match=mx.example.com servername=hostname"},
      {ReplyStatus::NotFound, "ignored", "NOTFOUND "},
      {ReplyStatus::NotFound, "", "NOTFOUND "},
      {ReplyStatus::Temp, "store unreadable", "TEMP store unreadable"},
      {ReplyStatus::Timeout, "policy fetch timed out", "TIMEOUT policy fetch timed out"},
      {ReplyStatus::Perm, "bad map name", "PERM bad map name"},
      {ReplyStatus::Temp, "", "TEMP "},
      {ReplyStatus::Temp, "line\nbreak\ttab\x7f" "caf\xc3\xa9", "TEMP line?break?tab?caf??"},
      {ReplyStatus::Perm, std::string("nul\0x", 5), "PERM nul?x"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.want);
    std::string out = "prefix:";
    appendReply(out, c.status, c.data);
    CHECK(out == "prefix:" + c.want);
  }
}

TEST_CASE("reply reasons are cut to 200 bytes") {
  std::string out;
  appendReply(out, ReplyStatus::Temp, std::string(5000, 'r'));
  CHECK(out == "TEMP " + std::string(kMaxReplyReasonBytes, 'r'));
  CHECK(kMaxReplyReasonBytes == 200);
}
