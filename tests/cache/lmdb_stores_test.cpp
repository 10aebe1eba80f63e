// Stores in one env: each with its own version record and migration; a change of one store
// never touches another; today's layout (schema 1, an unversioned "policies") opens intact.
#include "cache/lmdb_env.hpp"
#include "cache/lmdb_policy_store.hpp"
#include "cache/record_codec.hpp"
#include "tests/cache/record_v1_writer.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::RecordV1Writer;
using mtasts::cache::test::sampleRecord;
using mtasts::cache::test::TempDir;

namespace {

std::shared_ptr<LmdbEnv> openEnv(const LmdbOptions& options) {
  auto env = LmdbEnv::open(options);
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  return std::move(*env);
}

LmdbOptions readOnly(const std::string& dir) {
  LmdbOptions options{dir};
  options.read_only = true;
  return options;
}

std::string readKey(LmdbEnv& env, MDB_dbi dbi, std::string_view key) {
  ReadTxn txn;
  REQUIRE(env.beginRead(txn));
  std::string_view value;
  auto found = txn.get(dbi, key, value);
  REQUIRE(found);
  return *found ? std::string(value) : std::string("<missing>");
}

std::map<std::string, std::string> readAll(LmdbEnv& env, MDB_dbi dbi) {
  ReadTxn txn;
  REQUIRE(env.beginRead(txn));
  MDB_cursor* cursor = nullptr;
  REQUIRE(mdb_cursor_open(txn.raw(), dbi, &cursor) == MDB_SUCCESS);
  std::map<std::string, std::string> all;
  MDB_val k{0, nullptr};
  MDB_val v{0, nullptr};
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    all.emplace(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                std::string(static_cast<const char*>(v.mv_data), v.mv_size));
  }
  mdb_cursor_close(cursor);
  return all;
}

void put(LmdbEnv& env, MDB_dbi dbi, std::string_view key, std::string_view value) {
  auto r = env.write([&](WriteTxn& txn) { return txn.put(dbi, key, value); });
  REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
}

const std::map<std::string, std::string> CountsV1{{"a", "1"}, {"b", "2"}, {"c", "3"}};

// A state_dir with policies {a.example, b.example} and the store "counts" at version 1.
void writeTwoStores(const std::string& dir) {
  auto env = openEnv({dir});
  auto policies = LmdbPolicyStore::attach(env);
  REQUIRE(policies);
  REQUIRE((*policies)->put("a.example", sampleRecord("a")));
  REQUIRE((*policies)->put("b.example", sampleRecord("b")));
  auto counts = env->openStore({"counts", 1, {}});
  REQUIRE(counts);
  for (const auto& [k, v] : CountsV1) put(*env, *counts, k, v);
}

// The policies of the state_dir are exactly a.example and b.example as written.
void checkPoliciesKept(const std::string& dir) {
  auto store = LmdbPolicyStore::open(readOnly(dir));
  REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
  for (const char* id : {"a", "b"}) {
    PolicyRecord out;
    auto got = (*store)->get(std::string(id) + ".example", out);
    REQUIRE(got);
    CHECK_MESSAGE(*got, "policy lost: ", id);
    CHECK(recordDiff(out, sampleRecord(id)) == "");
  }
}

// Today's on-disk layout, written with the LMDB C API as the previous release wrote it:
// maxdbs 8, "meta" with schema "1", "policies" without any version record.
void writeTodayLayout(const std::string& dir, const std::map<std::string, std::string>& policies) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == MDB_SUCCESS);
  REQUIRE(mdb_env_set_maxdbs(env, 8) == MDB_SUCCESS);
  REQUIRE(mdb_env_set_mapsize(env, 64 << 20) == MDB_SUCCESS);
  REQUIRE(mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0640) == MDB_SUCCESS);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == MDB_SUCCESS);
  MDB_dbi policies_dbi = 0;
  MDB_dbi meta_dbi = 0;
  REQUIRE(mdb_dbi_open(txn, "policies", MDB_CREATE, &policies_dbi) == MDB_SUCCESS);
  REQUIRE(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_dbi) == MDB_SUCCESS);
  auto raw_put = [&](MDB_dbi dbi, const std::string& key, const std::string& value) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == MDB_SUCCESS);
  };
  raw_put(meta_dbi, "schema", "1");
  for (const auto& [domain, bytes] : policies) raw_put(policies_dbi, domain, bytes);
  REQUIRE(mdb_txn_commit(txn) == MDB_SUCCESS);
  mdb_env_close(env);
}

}  // namespace

TEST_CASE("a new store gets its sub-database and version record, and opens again to the same handle") {
  TempDir tmp;
  auto env = openEnv({tmp.path()});
  auto counts = env->openStore({"counts", 3, {}});
  REQUIRE_MESSAGE(counts, (counts ? "" : counts.error().detail));
  CHECK(readKey(*env, env->meta(), "version:counts") == "3");
  put(*env, *counts, "k", "v");
  auto again = env->openStore({"counts", 3, {}});
  REQUIRE(again);
  CHECK(*again == *counts);
  auto other_version = env->openStore({"counts", 4, {}});
  REQUIRE_FALSE(other_version);
  CHECK(other_version.error().code == ErrorCode::Internal);
  CHECK(other_version.error().detail == "store counts is already open with version 3, not 4");

  auto reopened = openEnv({tmp.path()});
  env.reset();
  auto dbi = reopened->openStore({"counts", 3, {}});
  REQUIRE(dbi);
  CHECK(readKey(*reopened, *dbi, "k") == "v");
}

TEST_CASE("a store spec with a bad name or version is refused") {
  TempDir tmp;
  auto env = openEnv({tmp.path()});
  const StoreSpec bad[] = {
      {"", 1, {}}, {"meta", 1, {}}, {"Upper", 1, {}}, {"with space", 1, {}},
      {std::string(65, 'a'), 1, {}}, {"counts", 0, {}}, {"counts", -1, {}},
  };
  for (const auto& spec : bad) {
    CAPTURE(spec.name);
    CAPTURE(spec.version);
    auto dbi = env->openStore(spec);
    REQUIRE_FALSE(dbi);
    CHECK(dbi.error().code == ErrorCode::InvalidInput);
  }
  CHECK(env->openStore({std::string(64, 'a'), 1, {}}));
  CHECK(env->openStore({"tlsrpt.days-v_2", 1, {}}));
}

TEST_CASE("a store written by a newer version is refused and the other stores still open") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  {
    auto env = openEnv({tmp.path()});
    put(*env, env->meta(), "version:counts", "7");
  }
  for (bool read_only : {false, true}) {
    CAPTURE(read_only);
    LmdbOptions options{tmp.path()};
    options.read_only = read_only;
    auto env = openEnv(options);
    auto counts = env->openStore({"counts", 2, {}});
    REQUIRE_FALSE(counts);
    CHECK(counts.error().code == ErrorCode::InvalidInput);
    CHECK(counts.error().detail == "state_dir " + tmp.path() +
                                       ": store counts was written by a newer mtastsd (version 7, "
                                       "this one reads 2); refusing to open");
    CHECK(LmdbPolicyStore::attach(env));
  }
  auto env = openEnv({tmp.path()});
  CHECK(readKey(*env, env->meta(), "version:counts") == "7");  // refused, not rewritten
  checkPoliciesKept(tmp.path());
}

TEST_CASE("an unreadable version record is refused") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  auto env = openEnv({tmp.path()});
  put(*env, env->meta(), "version:counts", "2x");
  auto counts = env->openStore({"counts", 2, {}});
  REQUIRE_FALSE(counts);
  CHECK(counts.error().detail.find("unreadable version record for store counts \"2x\"") !=
        std::string::npos);
}

TEST_CASE("an older store is migrated in one txn and the other stores keep every record") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  std::vector<int> migrated_from;
  StoreSpec v2{"counts", 2, [&](WriteTxn& txn, MDB_dbi dbi, int from) -> Result<void> {
                 migrated_from.push_back(from);
                 for (const auto& [k, v] : CountsV1) {
                   if (auto r = txn.put(dbi, k, v + "+v2"); !r) return r;
                 }
                 return {};
               }};
  {
    auto env = openEnv({tmp.path()});
    auto counts = env->openStore(v2);
    REQUIRE_MESSAGE(counts, (counts ? "" : counts.error().detail));
    CHECK(migrated_from == std::vector<int>{1});
    CHECK(readAll(*env, *counts) ==
          std::map<std::string, std::string>{{"a", "1+v2"}, {"b", "2+v2"}, {"c", "3+v2"}});
    CHECK(readKey(*env, env->meta(), "version:counts") == "2");
    CHECK(readKey(*env, env->meta(), "version:policies") == "1");
  }
  checkPoliciesKept(tmp.path());
  auto env = openEnv({tmp.path()});
  REQUIRE(env->openStore(v2));
  CHECK(migrated_from.size() == 1);  // at its version now: not migrated again
}

TEST_CASE("an older store without a migration is emptied alone") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  {
    auto env = openEnv({tmp.path()});
    auto counts = env->openStore({"counts", 2, {}});
    REQUIRE(counts);
    CHECK(readAll(*env, *counts).empty());
    CHECK(readKey(*env, env->meta(), "version:counts") == "2");
  }
  checkPoliciesKept(tmp.path());
}

TEST_CASE("a migration that fails leaves the store with its records and its version") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  auto env = openEnv({tmp.path()});
  StoreSpec failing{"counts", 2, [](WriteTxn& txn, MDB_dbi dbi, int) -> Result<void> {
                      if (auto r = txn.clear(dbi); !r) return r;  // undone with the txn
                      return fail(ErrorCode::InvalidInput, "record a does not convert");
                    }};
  auto counts = env->openStore(failing);
  REQUIRE_FALSE(counts);
  CHECK(counts.error().code == ErrorCode::InvalidInput);
  CHECK(counts.error().detail == "state_dir " + tmp.path() +
                                     ": cannot migrate store counts from version 1 to 2: record a "
                                     "does not convert");
  CHECK(readKey(*env, env->meta(), "version:counts") == "1");
  auto v1 = env->openStore({"counts", 1, {}});
  REQUIRE(v1);
  CHECK(readAll(*env, *v1) == CountsV1);
}

TEST_CASE("a read-only open never migrates: an older store with records is refused, an empty one opens") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  {
    auto env = openEnv({tmp.path()});
    REQUIRE(env->openStore({"empty", 1, {}}));
  }
  auto env = openEnv(readOnly(tmp.path()));
  auto counts = env->openStore({"counts", 2, {}});
  REQUIRE_FALSE(counts);
  CHECK(counts.error().code == ErrorCode::InvalidInput);
  CHECK(counts.error().detail == "state_dir " + tmp.path() +
                                     ": store counts has version 1 and needs a migration to 2; "
                                     "open it read-write (start mtastsd) first");
  auto empty = env->openStore({"empty", 5, {}});
  REQUIRE_MESSAGE(empty, (empty ? "" : empty.error().detail));
  CHECK(readAll(*env, *empty).empty());
  CHECK(readKey(*env, env->meta(), "version:counts") == "1");
  CHECK(readKey(*env, env->meta(), "version:empty") == "1");
  CHECK(LmdbPolicyStore::attach(env));  // the other store opens beside the refused one
}

TEST_CASE("a read-only open of a store that was never created says so") {
  TempDir tmp;
  writeTwoStores(tmp.path());
  auto env = openEnv(readOnly(tmp.path()));
  auto never = env->openStore({"never", 1, {}});
  REQUIRE_FALSE(never);
  CHECK(never.error().code == ErrorCode::NotFound);
  CHECK(never.error().detail == "state_dir " + tmp.path() + " holds no store never yet");
}

TEST_CASE("today's layout (schema 1, policies without a version record) opens with every cached policy") {
  TempDir tmp;
  PolicyRecord v1_record = sampleRecord("v1-id");
  PolicyRecord v2_record = sampleRecord("v2-id");
  writeTodayLayout(tmp.path(),
                   {{"v1.example", RecordV1Writer::encode(v1_record, RecordV1Writer::bodyOf(v1_record))},
                    {"v2.example", encodeRecord(v2_record)}});
  auto check = [&](LmdbPolicyStore& store) {
    PolicyRecord out;
    REQUIRE(*store.get("v1.example", out));
    CHECK(recordDiff(out, v1_record) == "");
    REQUIRE(*store.get("v2.example", out));
    CHECK(recordDiff(out, v2_record) == "");
  };
  SUBCASE("read-only reads it as version 1 and writes nothing") {
    auto store = LmdbPolicyStore::open(readOnly(tmp.path()));
    REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
    check(**store);
    CHECK(readKey((*store)->env(), (*store)->env().meta(), "version:policies") == "<missing>");
  }
  SUBCASE("read-write records version 1 and keeps the policies") {
    {
      auto store = LmdbPolicyStore::open({tmp.path()});
      REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
      check(**store);
      LmdbEnv& env = (*store)->env();
      CHECK(readKey(env, env.meta(), "version:policies") == "1");
      CHECK(readKey(env, env.meta(), "schema") == "1");
      REQUIRE(env.openStore({"counts", 1, {}}));  // a new store beside them
    }
    auto store = LmdbPolicyStore::open({tmp.path()});
    REQUIRE(store);
    check(**store);
  }
}

TEST_CASE("a migration that needs a bigger map runs again after the map grew") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  {
    auto env = openEnv(options);
    auto counts = env->openStore({"counts", 1, {}});
    REQUIRE(counts);
    for (int i = 0; i < 10; ++i) put(*env, *counts, "k" + std::to_string(i), std::string(1000, 'a'));
  }
  int runs = 0;
  StoreSpec bigger{"counts", 2, [&](WriteTxn& txn, MDB_dbi dbi, int) -> Result<void> {
                     ++runs;
                     for (int i = 0; i < 10; ++i) {
                       if (auto r = txn.put(dbi, "k" + std::to_string(i), std::string(12000, 'b')); !r) {
                         return r;
                       }
                     }
                     return {};
                   }};
  auto env = openEnv(options);
  auto counts = env->openStore(bigger);
  REQUIRE_MESSAGE(counts, (counts ? "" : counts.error().detail));
  CHECK(runs >= 2);
  CHECK(env->mapSize() > options.map_size);
  auto all = readAll(*env, *counts);
  REQUIRE(all.size() == 10);
  CHECK(all["k9"] == std::string(12000, 'b'));
  CHECK(readKey(*env, env->meta(), "version:counts") == "2");
}

TEST_CASE("scanPrefix visits the records under a prefix in key order, in read and write txns") {
  TempDir tmp;
  auto env = openEnv({tmp.path()});
  auto days = env->openStore({"days", 1, {}});
  REQUIRE(days);
  for (const char* k : {"2024-01-02/a", "2024-01-01/b", "2024-01-01/a", "2024-01-010/x", "2024-01-03/a"}) {
    put(*env, *days, k, std::string("v:") + k);
  }
  auto scan = [&](MDB_txn* txn, std::string_view prefix, std::size_t stop_after) {
    std::vector<std::string> seen;
    auto r = scanPrefix(txn, *days, prefix, [&](std::string_view key, std::string_view value) {
      CHECK(value == "v:" + std::string(key));
      seen.emplace_back(key);
      return seen.size() < stop_after;
    });
    REQUIRE(r);
    return seen;
  };
  ReadTxn txn;
  REQUIRE(env->beginRead(txn));
  CHECK(scan(txn.raw(), "2024-01-01/", 99) == std::vector<std::string>{"2024-01-01/a", "2024-01-01/b"});
  CHECK(scan(txn.raw(), "2024-01-01", 99) ==
        std::vector<std::string>{"2024-01-01/a", "2024-01-01/b", "2024-01-010/x"});
  CHECK(scan(txn.raw(), "", 99).size() == 5);
  CHECK(scan(txn.raw(), "", 2) == std::vector<std::string>{"2024-01-01/a", "2024-01-01/b"});
  CHECK(scan(txn.raw(), "2024-01-04", 99).empty());
  CHECK(scan(txn.raw(), "2023", 99).empty());
  txn.reset();
  // A sweep: collect in the write txn, then delete.
  auto swept = env->write([&](WriteTxn& w) -> Result<void> {
    for (const auto& key : scan(w.raw(), "2024-01-01/", 99)) {
      if (auto d = w.del(*days, key); !d) return Unexpected{d.error()};
    }
    return {};
  });
  REQUIRE(swept);
  CHECK(readAll(*env, *days).size() == 3);
  CHECK_FALSE(scanPrefix(nullptr, *days, "", [](std::string_view, std::string_view) { return true; }));
}
