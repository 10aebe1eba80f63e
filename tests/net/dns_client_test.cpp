// Integration: GetdnsDnsClient against tests/net/dns_responder.py on 127.0.0.1.
#include "net/getdns_dns_client.hpp"

#include "net/c_handles.hpp"
#include "tests/net/test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::net;
using namespace std::chrono_literals;

namespace {

struct DnsWorld {
  test::ChildProcess server{{"/usr/bin/python3", test::scriptDir() + "/dns_responder.py", "--lifetime", "120"}, 10s};
  EventBasePtr base{event_base_new()};
  std::unique_ptr<GetdnsDnsClient> client;

  explicit DnsWorld(std::chrono::milliseconds timeout = 2000ms) {
    REQUIRE(server.ready());
    DnsOptions options;
    options.servers = {"127.0.0.1:" + server.value("dns_port")};
    options.timeout = timeout;
    auto made = GetdnsDnsClient::create(base.get(), options);
    REQUIRE_MESSAGE(made.has_value(), (made ? "" : made.error().detail));
    client = std::move(*made);
  }
  ~DnsWorld() { client.reset(); }  // getdns context before the event_base

  TxtAnswer txt(const std::string& name) {
    std::optional<TxtAnswer> got;
    auto handle = client->lookupTxt(name, [&](TxtAnswer a) { got = std::move(a); });
    CHECK_FALSE(got.has_value());  // never synchronously
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 10s));
    return std::move(*got);
  }
  MxAnswer mx(const std::string& name) { return ask<MxAnswer>(&GetdnsDnsClient::lookupMx, name); }
  TlsaAnswer tlsa(const std::string& name) { return ask<TlsaAnswer>(&GetdnsDnsClient::lookupTlsa, name); }
  template <typename Answer, typename Lookup>
  Answer ask(Lookup lookup, const std::string& name) {
    std::optional<Answer> got;
    auto handle = (client.get()->*lookup)(name, [&](Answer a) { got = std::move(a); });
    CHECK_FALSE(got.has_value());
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 10s));
    return std::move(*got);
  }
  AddressAnswer addresses(const std::string& name) {
    std::optional<AddressAnswer> got;
    auto handle = client->lookupAddresses(name, [&](AddressAnswer a) { got = std::move(a); });
    CHECK_FALSE(got.has_value());
    REQUIRE(test::runLoopUntil(base.get(), [&] { return got.has_value(); }, 10s));
    return std::move(*got);
  }
};

const char* statusName(DnsStatus s) {
  switch (s) {
    case DnsStatus::Ok: return "Ok";
    case DnsStatus::NoRecord: return "NoRecord";
    case DnsStatus::Failed: return "Failed";
  }
  return "?";
}

}  // namespace

TEST_CASE("dns client returns each TXT RR with its character-strings kept apart") {
  DnsWorld world;
  TxtAnswer a = world.txt("split.test");
  CHECK(statusName(a.status) == std::string("Ok"));
  using Rec = std::vector<std::string>;
  CHECK(a.records == std::vector<Rec>{Rec{"v=STSv1; ", "id=abc123"}, Rec{"unrelated"}});
  CHECK_FALSE(a.upstream_ad);
  CHECK(a.dnssec == DnssecStatus::Unchecked);
}

TEST_CASE("dns client keeps TXT bytes raw, including NUL and empty strings") {
  DnsWorld world;
  TxtAnswer a = world.txt("binary.test");
  REQUIRE(a.status == DnsStatus::Ok);
  REQUIRE(a.records.size() == 1);
  CHECK(a.records[0] == std::vector<std::string>{std::string("\0\xff;", 3), ""});
}

TEST_CASE("dns client follows a CNAME chain and keeps only the RRset at its end") {
  DnsWorld world;
  TxtAnswer a = world.txt("ALIAS.test");
  REQUIRE(a.status == DnsStatus::Ok);
  CHECK(a.records == std::vector<std::vector<std::string>>{{"v=STSv1; id=viacname"}});
}

// Issue [7]: "secure" used to be the upstream's AD bit. A stub that did not validate passes
// the bit on, but calls nothing Secure ([12] adds validation and the AD-trust option).
TEST_CASE("dns client passes the upstream's AD bit on but calls no unvalidated answer secure") {
  DnsWorld world;
  TxtAnswer a = world.txt("secure.test");
  REQUIRE(a.status == DnsStatus::Ok);
  CHECK(a.upstream_ad);
  CHECK(dnssecStatusName(a.dnssec) == std::string("unchecked"));
}

TEST_CASE("dns client classifies negative and failed TXT answers") {
  struct Case { const char* name; DnsStatus status; const char* detail; };
  DnsWorld world(1000ms);
  for (auto c : {Case{"missing.test", DnsStatus::NoRecord, "NXDOMAIN"},
                 Case{"nodata.test", DnsStatus::NoRecord, "NODATA"},
                 Case{"servfail.test", DnsStatus::Failed, "SERVFAIL"},
                 Case{"refused.test", DnsStatus::Failed, "REFUSED"},
                 Case{"drop.test", DnsStatus::Failed, "timeout after 1000 ms"}}) {
    CAPTURE(c.name);
    auto started = std::chrono::steady_clock::now();
    TxtAnswer a = world.txt(c.name);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(statusName(a.status) == std::string(statusName(c.status)));
    CHECK(a.detail == c.detail);
    CHECK(a.records.empty());
    CHECK(took < 2500ms);  // bounded by the timeout, also for a silent server
  }
}

TEST_CASE("dns client merges A and AAAA into numeric strings") {
  DnsWorld world;
  struct Case { const char* name; DnsStatus status; std::vector<std::string> addresses; };
  for (const auto& c : {Case{"addr.test", DnsStatus::Ok, {"192.0.2.1", "192.0.2.2", "2001:db8::1"}},
                        Case{"v4only.test", DnsStatus::Ok, {"198.51.100.7"}},
                        Case{"nodata.test", DnsStatus::NoRecord, {}},
                        Case{"missing.test", DnsStatus::NoRecord, {}},
                        Case{"servfail.test", DnsStatus::Failed, {}}}) {
    CAPTURE(c.name);
    AddressAnswer a = world.addresses(c.name);
    CHECK(statusName(a.status) == std::string(statusName(c.status)));
    auto got = a.addresses;
    std::sort(got.begin(), got.end());
    CHECK(got == c.addresses);
    if (c.status == DnsStatus::Failed) CHECK(a.detail == "SERVFAIL");
  }
}

TEST_CASE("dns client returns MX records as preference and lower-case host") {
  DnsWorld world;
  MxAnswer a = world.mx("mx.test");
  REQUIRE(statusName(a.status) == std::string("Ok"));
  auto got = a.records;
  std::sort(got.begin(), got.end(), [](const MxRecord& x, const MxRecord& y) { return x.preference < y.preference; });
  CHECK(got == std::vector<MxRecord>{{10, "mx1.mx.test"}, {20, "mx2.example.net"}});
  CHECK(world.mx("nullmx.test").records == std::vector<MxRecord>{{0, ""}});  // RFC 7505 null MX
  CHECK(world.mx("alias.test").records == std::vector<MxRecord>{{5, "via.cname.test"}});
  struct Case { const char* name; DnsStatus status; const char* detail; };
  for (auto c : {Case{"split.test", DnsStatus::NoRecord, "NODATA"},  // no implicit MX here
                 Case{"missing.test", DnsStatus::NoRecord, "NXDOMAIN"},
                 Case{"servfail.test", DnsStatus::Failed, "SERVFAIL"}}) {
    CAPTURE(c.name);
    MxAnswer m = world.mx(c.name);
    CHECK(statusName(m.status) == std::string(statusName(c.status)));
    CHECK(m.detail == c.detail);
    CHECK(m.records.empty());
  }
}

TEST_CASE("dns client returns TLSA records with raw association data, unchecked") {
  DnsWorld world;
  TlsaAnswer a = world.tlsa("_25._tcp.mx1.mx.test");
  REQUIRE(statusName(a.status) == std::string("Ok"));
  std::string sha256;
  for (int i = 0; i < 32; ++i) sha256.push_back(static_cast<char>(i));
  auto got = a.records;
  std::sort(got.begin(), got.end(), [](const TlsaRecord& x, const TlsaRecord& y) { return x.usage > y.usage; });
  CHECK(got == std::vector<TlsaRecord>{{3, 1, 1, sha256}, {2, 0, 2, std::string(64, '\xff')}});
  CHECK(a.upstream_ad);  // the responder sets AD on this name ...
  CHECK(a.dnssec == DnssecStatus::Unchecked);  // ... which validates nothing
  TlsaAnswer none = world.tlsa("_25._tcp.mx2.mx.test");
  CHECK(statusName(none.status) == std::string("NoRecord"));
}

TEST_CASE("dns client never calls back a cancelled or destroyed lookup") {
  DnsWorld world;
  int calls = 0;
  auto cancelled = world.client->lookupTxt("split.test", [&](TxtAnswer) { ++calls; });
  cancelled->cancel();
  world.client->lookupAddresses("addr.test", [&](AddressAnswer) { ++calls; });  // handle dropped
  bool marker = false;
  auto last = world.client->lookupTxt("split.test", [&](TxtAnswer) { marker = true; });
  REQUIRE(test::runLoopUntil(world.base.get(), [&] { return marker; }, 10s));
  CHECK(calls == 0);
}

TEST_CASE("destroying the dns client cancels outstanding lookups") {
  DnsWorld world;
  int calls = 0;
  auto pending = world.client->lookupTxt("drop.test", [&](TxtAnswer) { ++calls; });
  world.client.reset();
  pending.reset();  // the handle outlives the client safely
  test::runLoopUntil(world.base.get(), [] { return false; }, 50ms);
  CHECK(calls == 0);
}

TEST_CASE("dns server strings are parsed as numeric address and port") {
  struct Case { const char* text; bool ok; const char* address; int port; };
  for (auto c : {Case{"127.0.0.1", true, "127.0.0.1", 53}, Case{"127.0.0.1:5353", true, "127.0.0.1", 5353},
                 Case{"[::1]:54", true, "::1", 54}, Case{"::1", true, "::1", 53}, Case{"[::1]", true, "::1", 53},
                 Case{"dns.example", false, "", 0}, Case{"1.2.3.4:0", false, "", 0},
                 Case{"1.2.3.4:65536", false, "", 0}, Case{"1.2.3.4:", false, "", 0},
                 Case{"[::1]x", false, "", 0}, Case{"", false, "", 0}}) {
    CAPTURE(c.text);
    auto got = parseDnsServer(c.text);
    REQUIRE(got.has_value() == c.ok);
    if (c.ok) {
      CHECK(got->address == c.address);
      CHECK(got->port == c.port);
    }
  }
}

TEST_CASE("a trust anchor file is read in zone-file form: Debian's root.key, a DS line, or refused with a reason") {
  test::TempDir dir;
  EventBasePtr base{event_base_new()};
  auto create = [&](const std::string& content) {
    const std::string path = dir.path() + "/anchor";
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(content.c_str(), f);
    std::fclose(f);
    DnsOptions options;
    options.servers = {"127.0.0.1:53"};
    options.timeout = 1000ms;
    options.dnssec = DnssecMode::Validate;
    options.trust_anchor_file = path;
    return GetdnsDnsClient::create(base.get(), options);
  };
  struct Case {
    std::string name;
    std::string content;
    const char* error;  // nullptr: accepted
  };
  const std::vector<Case> cases{
      {"a DS record (ldns-key2ds)",
       "dane.test.\t3600\tIN\tDS\t2371 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
       nullptr},
      {"a root DNSKEY with a comment, as in dns-root-data",
       ". IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWX"
       "gnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/"
       "b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555Kr"
       "UB5qihylGa8subX2Nn6UwNR1AkUTV74bU= ; keytag 20326\n",
       nullptr},
      {"no anchor in it", "example.test. 3600 IN A 192.0.2.1\n", "no DS or DNSKEY record"},
      // getdns reads some garbage as records and refuses other garbage: refused either way
      {"garbage", "this is not a zone file {\n", "DNSSEC trust anchor file"},
      {"an empty file", "", "DNSSEC trust anchor file"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto made = create(c.content);
    if (c.error == nullptr) {
      REQUIRE_MESSAGE(made.has_value(), (made ? "" : made.error().detail));
      CHECK((*made)->validatesDnssec());
      CHECK((*made)->dnssecMode() == DnssecMode::Validate);
    } else {
      REQUIRE_FALSE(made.has_value());
      CHECK_MESSAGE(made.error().detail.find(c.error) != std::string::npos, made.error().detail);
    }
  }
}
