// The policy a mail-log session was under: what the socketmap answered from the cache
// (enforce, testing only with strict_testing, valid now; tlsa where DANE applied) with the
// strings Postfix 3.10+ would report, else no-policy-found; and the reader over a real LMDB
// env in a temp dir.
#include <doctest/doctest.h>

#include "cache/lmdb_policy_store.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/cached_policy.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Now = 1'764'504'000;

cache::PolicyRecord policyRecord(sts::Mode mode, UnixSeconds expires_at = Now + 3600) {
  cache::PolicyRecord r;
  r.kind = cache::EntryKind::Policy;
  r.txt_id = "1a";
  r.policy.mode = mode;
  r.policy.max_age = 86400;
  r.policy.mx = {"mx.good.test", "*.good.test"};
  r.policy.lines = {{"version", "STSv1"},
                    {"mode", std::string(sts::modeName(mode))},
                    {"mx", "mx.good.test"},
                    {"mx", "*.good.test"},
                    {"max_age", "86400"}};
  r.fetched_at = Now - 60;
  r.expires_at = expires_at;
  return r;
}

cache::PolicyRecord withDane(cache::PolicyRecord r, cache::DaneState state) {
  r.dane.state = state;
  r.dane.checked_at = Now - 60;
  r.dane.expires_at = Now + 300;
  return r;
}

}  // namespace

TEST_CASE("policy strings are the policy lines as Postfix 3.10+ reports what mtastsd sent it") {
  sts::Policy p;
  p.lines = {{"version", "STSv1"}, {"mode", " enforce "}, {"x-empty", ""}, {"x-brace", "a{b}"},
             {"x-ctl", "a\x01"}, {"max_age", "86400\t"}};
  CHECK(policyStrings(p) == std::vector<std::string>{"version: STSv1", "mode: enforce", "x-empty:", "max_age: 86400"});
}

TEST_CASE("the policy in force is the socketmap's answer: sts (enforce, testing under strict_testing), tlsa where DANE applied") {
  struct Case {
    const char* name;
    std::optional<cache::PolicyRecord> record;
    VerdictRules rules;
    PolicyType want;
  };
  cache::PolicyRecord negative;
  negative.kind = cache::EntryKind::NoPolicy;
  negative.expires_at = Now + 3600;
  cache::PolicyRecord negative_dane = withDane(negative, cache::DaneState::Usable);
  cache::PolicyRecord negative_dane_expired = negative_dane;
  negative_dane_expired.expires_at = Now;
  const VerdictRules plain{}, strict{true, false, false}, dane{false, true, false}, dane_alone{false, true, true};
  const Case cases[] = {
      {"enforce", policyRecord(sts::Mode::Enforce), plain, PolicyType::Sts},
      {"enforce, expired", policyRecord(sts::Mode::Enforce, Now), plain, PolicyType::NoPolicyFound},
      {"testing", policyRecord(sts::Mode::Testing), plain, PolicyType::NoPolicyFound},
      {"testing, strict_testing", policyRecord(sts::Mode::Testing), strict, PolicyType::Sts},
      {"none", policyRecord(sts::Mode::None), strict, PolicyType::NoPolicyFound},
      {"negative entry", negative, plain, PolicyType::NoPolicyFound},
      {"not cached", std::nullopt, dane_alone, PolicyType::NoPolicyFound},
      {"enforce, DANE usable (dane-only)", withDane(policyRecord(sts::Mode::Enforce), cache::DaneState::Usable), dane,
       PolicyType::Tlsa},
      {"enforce, DANE bogus (dane-only)", withDane(policyRecord(sts::Mode::Enforce), cache::DaneState::Bogus), dane,
       PolicyType::Tlsa},
      {"enforce, DANE usable, DANE off", withDane(policyRecord(sts::Mode::Enforce), cache::DaneState::Usable), plain,
       PolicyType::Sts},
      {"enforce, DANE insecure", withDane(policyRecord(sts::Mode::Enforce), cache::DaneState::Insecure), dane,
       PolicyType::Sts},
      {"enforce, secure without TLSA", withDane(policyRecord(sts::Mode::Enforce), cache::DaneState::NoTlsa), dane,
       PolicyType::Sts},
      {"testing, DANE usable (NOTFOUND)", withDane(policyRecord(sts::Mode::Testing), cache::DaneState::Usable), dane,
       PolicyType::NoPolicyFound},
      {"testing, DANE usable, dane_without_sts (dane)",
       withDane(policyRecord(sts::Mode::Testing), cache::DaneState::Usable), dane_alone, PolicyType::Tlsa},
      {"no MTA-STS, DANE usable, dane_without_sts (dane)", negative_dane, dane_alone, PolicyType::Tlsa},
      {"no MTA-STS, DANE usable (NOTFOUND)", negative_dane, dane, PolicyType::NoPolicyFound},
      {"no MTA-STS, DANE usable, entry expired", negative_dane_expired, dane_alone, PolicyType::NoPolicyFound},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const PolicyDescriptor d = policyInForce("good.test", c.record ? &*c.record : nullptr, Now, c.rules);
    CHECK(d.type == c.want);
    CHECK(d.domain == "good.test");
    if (c.want == PolicyType::Tlsa) {
      CHECK(d.strings.empty());
      CHECK(d.mx_hosts.empty());
    } else if (c.want == PolicyType::Sts) {
      CHECK(d.mx_hosts == std::vector<std::string>{"mx.good.test", "*.good.test"});
      CHECK(d.strings.size() == 5);
      CHECK(d.strings[0] == "version: STSv1");
    } else {
      CHECK(d.strings.empty());
      CHECK(d.mx_hosts.empty());
    }
  }
}

TEST_CASE("the cache reader finds a policy by the next hop as logged: any case, U-labels, IP literals skipped") {
  TempDir dir;
  cache::LmdbOptions options;
  options.dir = dir.path();
  auto env = cache::LmdbEnv::open(options);
  REQUIRE(env);
  auto store = cache::LmdbPolicyStore::attach(*env);
  REQUIRE(store);
  REQUIRE((*store)->put("good.test", policyRecord(sts::Mode::Enforce)));
  REQUIRE((*store)->put("xn--bcher-kva.test", policyRecord(sts::Mode::Enforce)));
  REQUIRE((*store)->put("testing.test", policyRecord(sts::Mode::Testing)));
  ManualClock clock(Now);
  auto reader = CachedPolicyReader::attach(*env, clock, VerdictRules{});
  REQUIRE(reader);

  CHECK((*reader)->policyFor("Good.TEST").type == PolicyType::Sts);
  CHECK((*reader)->policyFor("Good.TEST").domain == "good.test");
  const PolicyDescriptor idn = (*reader)->policyFor("b\xc3\xbc" "cher.test");
  CHECK(idn.type == PolicyType::Sts);
  CHECK(idn.domain == "xn--bcher-kva.test");
  CHECK((*reader)->policyFor("other.test").type == PolicyType::NoPolicyFound);
  CHECK((*reader)->policyFor("[192.0.2.1]").type == PolicyType::NoPolicyFound);
  CHECK((*reader)->policyFor("testing.test").type == PolicyType::NoPolicyFound);
  (*reader)->setRules(VerdictRules{true, false, false});
  CHECK((*reader)->policyFor("testing.test").type == PolicyType::Sts);
  clock.advance(3600);  // the cached policies expired
  CHECK((*reader)->policyFor("good.test").type == PolicyType::NoPolicyFound);
}
