#include "cache/lmdb_policy_store.hpp"
#include "tests/cache/fork_child.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::negativeRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::runInChild;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::sampleRecord;
using mtasts::cache::test::TempDir;

namespace {

std::unique_ptr<LmdbPolicyStore> openStore(const LmdbOptions& options) {
  auto store = LmdbPolicyStore::open(options);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
  return std::move(*store);
}

// get() as one expression for CHECKs: "absent", "error: ...", or the diff against `want`.
std::string lookup(PolicyStore& store, std::string_view domain, const PolicyRecord& want) {
  PolicyRecord out;
  auto got = store.get(domain, out);
  if (!got) return "error: " + got.error().detail;
  if (!*got) return "absent";
  return recordDiff(out, want);
}

std::vector<std::string> keys(PolicyStore& store) {
  std::vector<std::string> seen;
  auto r = store.forEach([&](std::string_view domain, const PolicyRecord&) {
    seen.emplace_back(domain);
    return true;
  });
  REQUIRE(r);
  return seen;
}

}  // namespace

TEST_CASE("a record put into the store reads back unchanged, also after reopening") {
  TempDir tmp;
  PolicyRecord want = sampleRecord();
  {
    auto store = openStore({tmp.path()});
    CHECK(lookup(*store, "example.com", want) == "absent");
    REQUIRE(store->put("example.com", want));
    CHECK(lookup(*store, "example.com", want) == "");
    CHECK(lookup(*store, "example.net", want) == "absent");
  }
  auto store = openStore({tmp.path()});
  CHECK(lookup(*store, "example.com", want) == "");
}

TEST_CASE("get reuses the caller's record and overwrites every field") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  // An id longer than the small-string buffer, so that its capacity is on the heap.
  PolicyRecord policy = sampleRecord(std::string(32, 'a'));
  REQUIRE(store->put("a.example", policy));
  REQUIRE(store->put("b.example", negativeRecord()));
  PolicyRecord out;
  REQUIRE(*store->get("a.example", out));
  const char* id_buffer = out.txt_id.data();
  const auto* lines_buffer = out.policy.lines.data();
  REQUIRE(*store->get("b.example", out));
  CHECK(recordDiff(out, negativeRecord()) == "");
  REQUIRE(*store->get("a.example", out));
  CHECK(recordDiff(out, policy) == "");
  CHECK(out.txt_id.data() == id_buffer);  // capacity kept: no new allocation for the id
  CHECK(out.policy.lines.data() == lines_buffer);  // nor for the vector of lines
}

TEST_CASE("erase, eraseAll and forEach see exactly what was put") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  for (const char* d : {"c.example", "a.example", "b.example"}) REQUIRE(store->put(d, sampleRecord()));
  CHECK(keys(*store) == std::vector<std::string>{"a.example", "b.example", "c.example"});

  int visited = 0;
  REQUIRE(store->forEach([&](std::string_view, const PolicyRecord&) { return ++visited < 2; }));
  CHECK(visited == 2);

  CHECK(*store->erase("b.example"));
  CHECK_FALSE(*store->erase("b.example"));
  CHECK(keys(*store) == std::vector<std::string>{"a.example", "c.example"});
  REQUIRE(store->eraseAll());
  CHECK(keys(*store).empty());
}

TEST_CASE("recordUsage raises last_used only, in one batch, and skips missing domains") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  PolicyRecord a = sampleRecord();
  a.last_used = 100;
  REQUIRE(store->put("a.example", a));
  REQUIRE(store->put("b.example", a));
  REQUIRE(store->recordUsage({{"a.example", 200}, {"b.example", 50}, {"missing.example", 300}}));
  PolicyRecord out;
  REQUIRE(*store->get("a.example", out));
  CHECK(out.last_used == 200);
  REQUIRE(*store->get("b.example", out));
  CHECK(out.last_used == 100);
  CHECK_FALSE(*store->get("missing.example", out));
  REQUIRE(store->recordUsage({}));
}

TEST_CASE("keys outside 1 to 255 bytes and unencodable records are refused") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  PolicyRecord out;
  CHECK(store->get("", out).error().code == ErrorCode::InvalidInput);
  CHECK(store->put(std::string(256, 'a'), sampleRecord()).error().code == ErrorCode::InvalidInput);
  PolicyRecord huge = sampleRecord();
  huge.policy.mx.assign(20'000, "mx.example");
  CHECK(store->put("example.com", huge).error().code == ErrorCode::TooLarge);
}

TEST_CASE("a record that does not decode reads as absent and the next put replaces it") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  LmdbEnv& env = store->env();
  for (std::string garbage : {std::string("\x01\x02garbage"), std::string("\x07"), std::string()}) {
    CAPTURE(garbage.size());
    REQUIRE(env.write([&](WriteTxn& txn) { return txn.put(store->dbi(), "bad.example", garbage); }));
    PolicyRecord out;
    auto got = store->get("bad.example", out);
    REQUIRE(got);
    CHECK_FALSE(*got);
    CHECK(keys(*store).empty());  // forEach skips it too
    REQUIRE(store->recordUsage({{"bad.example", 5}}));  // and usage stamps leave it alone
    REQUIRE(store->put("bad.example", sampleRecord()));
    CHECK(lookup(*store, "bad.example", sampleRecord()) == "");
  }
}

TEST_CASE("two processes on one state_dir see each other's writes") {
  TempDir tmp;
  auto store = openStore({tmp.path()});
  REQUIRE(store->put("parent.example", sampleRecord("p1")));
  CHECK(lookup(*store, "child.example", sampleRecord("c1")) == "absent");  // txn now reset

  int child = runInChild([&] {
    auto other = LmdbPolicyStore::open({tmp.path()});
    if (!other) return 10;
    PolicyRecord out;
    auto got = (*other)->get("parent.example", out);
    if (!got || !*got || out.txt_id != "p1") return 11;
    return (*other)->put("child.example", sampleRecord("c1")) ? 0 : 12;
  });
  REQUIRE(child == 0);
  // The parent's reused read txn is renewed, so it sees the child's commit.
  CHECK(lookup(*store, "child.example", sampleRecord("c1")) == "");
}

TEST_CASE("a map grown by another process is adopted by this one") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  auto store = openStore(options);
  REQUIRE(store->put("first.example", sampleRecord()));
  int child = runInChild([&] {
    auto other = LmdbPolicyStore::open(options);
    if (!other) return 10;
    PolicyRecord big = paddedRecord(4000);
    for (int i = 0; i < 100; ++i) {
      if (!(*other)->put("big" + std::to_string(i) + ".example", big)) return 11;
    }
    return (*other)->env().mapSize() > 4 * options.map_size ? 0 : 12;
  });
  REQUIRE(child == 0);
  PolicyRecord out;
  auto got = store->get("big99.example", out);
  REQUIRE_MESSAGE(got, (got ? "" : got.error().detail));
  CHECK(*got);
  CHECK(recordDiff(out, paddedRecord(4000)) == "");
  CHECK(store->env().mapSize() > 4 * options.map_size);
  CHECK(store->put("after.example", sampleRecord()));
}

TEST_CASE("a read-only store reads what the writer committed and refuses writes") {
  TempDir tmp;
  auto writer = openStore({tmp.path()});
  REQUIRE(writer->put("example.com", sampleRecord()));
  int child = runInChild([&] {
    LmdbOptions ro{tmp.path()};
    ro.read_only = true;
    auto reader = LmdbPolicyStore::open(ro);
    if (!reader) return 10;
    PolicyRecord out;
    auto got = (*reader)->get("example.com", out);
    if (!got || !*got) return 11;
    auto put = (*reader)->put("x.example", sampleRecord());
    return !put && put.error().code == ErrorCode::Io ? 0 : 12;
  });
  CHECK(child == 0);
}
