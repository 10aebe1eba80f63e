// PolicyResolver's fetch limits and failure classes (RFC 8460 4.3.2), and the one
// promise the cache gives it: a valid policy is stored, so it is fetched once. Fake DNS,
// fake HTTPS client, manual time.
#include "cache/memory_policy_store.hpp"
#include "cache/record_codec.hpp"
#include "policy/policy_resolver.hpp"
#include "policy/policy_service.hpp"
#include "sts/policy_parser.hpp"
#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/manual_scheduler.hpp"

#include <doctest/doctest.h>

#include <optional>

using namespace mtasts;
using namespace mtasts::policy;
using mtasts::postfix::PolicyAnswer;
using mtasts::testing::FakeDnsClient;
using mtasts::testing::FakeHttpsClient;
using mtasts::testing::FakeQueue;
using mtasts::testing::ManualScheduler;

namespace {

constexpr const char* Host = "mta-sts.good.test";

struct World {
  FakeQueue queue;
  FakeDnsClient dns{queue};
  FakeHttpsClient https{queue};

  World() { dns.setAddress(Host, "127.0.50.1"); }

  FetchOutcome fetch(const ResolverOptions& options = {}) {
    PolicyResolver resolver(dns, https, options);
    std::optional<FetchOutcome> got;
    auto handle = resolver.fetch("good.test", [&](FetchOutcome o) { got = std::move(o); });
    queue.deliver();
    REQUIRE(got.has_value());
    return std::move(*got);
  }
};

// What LmdbPolicyStore::put does first: refuse a record the codec cannot store.
class CodecCheckedStore final : public cache::PolicyStore {
 public:
  cache::MemoryPolicyStore inner;
  int refused = 0;
  Result<bool> get(std::string_view d, cache::PolicyRecord& out) override { return inner.get(d, out); }
  Result<void> put(std::string_view d, const cache::PolicyRecord& r) override {
    if (auto ok = cache::checkEncodable(r); !ok) {
      ++refused;
      return ok;
    }
    return inner.put(d, r);
  }
  Result<bool> erase(std::string_view d) override { return inner.erase(d); }
  Result<void> eraseAll() override { return inner.eraseAll(); }
  Result<void> forEach(const Visitor& v) override { return inner.forEach(v); }
  Result<void> recordUsage(const std::vector<std::pair<std::string, UnixSeconds>>& s) override {
    return inner.recordUsage(s);
  }
};

}  // namespace

TEST_CASE("the fetch limit is max_policy_size, never above the policy parser's own limit") {
  struct Case { std::size_t configured; std::size_t want; };
  for (auto c : {Case{4096, 4096}, Case{sts::MaxPolicyBodyBytes, sts::MaxPolicyBodyBytes},
                 Case{1024 * 1024, sts::MaxPolicyBodyBytes}}) {
    CAPTURE(c.configured);
    World w;
    ResolverOptions options;
    options.max_policy_size = c.configured;
    w.fetch(options);
    REQUIRE(w.https.requests.size() == 1);
    CHECK(w.https.requests[0].max_body == c.want);
  }
}

TEST_CASE("a fetch failure is a fetch error unless a policy document breaks the grammar") {
  struct Case { const char* what; std::string body; TlsRptResultType want; const char* detail; };
  const std::string head = "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 86400\n";
  const Case cases[] = {
      {"grammar broken", "version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 5\n",
       TlsRptResultType::StsPolicyInvalid, "mode must be enforce, testing or none"},
      {"trailing empty line", head + "\n", TlsRptResultType::StsPolicyInvalid, "empty line"},
      // Only a fake HTTPS client can hand over more than the limit; it was never a policy document.
      {"over the size limit", head + "x: " + std::string(sts::MaxPolicyBodyBytes, 'x') + "\n",
       TlsRptResultType::StsPolicyFetchError, "limit 65536"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    World w;
    w.https.setBody(Host, c.body);
    FetchOutcome o = w.fetch();
    CAPTURE(o.detail);
    CHECK_FALSE(o.ok);
    CHECK(tlsRptResultTypeName(o.failure) == tlsRptResultTypeName(c.want));
    CHECK(o.detail.find(c.detail) != std::string::npos);
  }
  World w;
  w.https.setFailure(Host, TlsRptResultType::StsPolicyFetchError, "media type is not text/plain: text/html");
  CHECK(w.fetch().failure == TlsRptResultType::StsPolicyFetchError);
}

TEST_CASE("a valid policy with as many mx lines as 64 KiB holds is stored and fetched once") {
  ManualClock clock;
  ManualScheduler scheduler;
  World w;
  CodecCheckedStore store;
  w.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=many;"}});
  std::string body = "version:STSv1\nmode:enforce\nmax_age:86400\nmx:mx.good.test\n";
  while (body.size() + 5 <= sts::MaxPolicyBodyBytes) body += "mx:a\n";
  w.https.setBody(Host, body);
  PolicyResolver resolver(w.dns, w.https, ResolverOptions{});
  PolicyService service(resolver, store, clock, scheduler, PolicyServiceOptions{});
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    std::optional<PolicyAnswer::Kind> kind;
    auto handle = service.lookup("good.test", [&](const PolicyAnswer& d) { kind = d.kind; });
    for (int round = 0; round < 10 && w.queue.deliver() > 0; ++round) scheduler.advance(std::chrono::milliseconds(0));
    REQUIRE(kind.has_value());
    CHECK(*kind == PolicyAnswer::Kind::Enforce);
  }
  CHECK(store.refused == 0);
  CHECK(w.https.fetches[Host] == 1);
}
