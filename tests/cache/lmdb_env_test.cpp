#include "cache/lmdb_env.hpp"
#include "cache/lmdb_policy_store.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cerrno>
#include <string>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::sampleRecord;
using mtasts::cache::test::TempDir;

namespace {

std::string readMeta(LmdbEnv& env, std::string_view key) {
  ReadTxn txn;
  REQUIRE(env.beginRead(txn));
  std::string_view value;
  auto found = txn.get(env.meta(), key, value);
  REQUIRE(found);
  return *found ? std::string(value) : std::string("<missing>");
}

void writeMeta(LmdbEnv& env, std::string_view key, std::string_view value) {
  auto r = env.write([&](WriteTxn& txn) { return txn.put(env.meta(), key, value); });
  REQUIRE(r);
}

}  // namespace

TEST_CASE("lmdbError maps LMDB and errno codes to error classes") {
  struct Case {
    int rc;
    ErrorCode want;
  };
  const Case cases[] = {
      {MDB_MAP_FULL, ErrorCode::TooLarge},     {MDB_TXN_FULL, ErrorCode::TooLarge},
      {MDB_NOTFOUND, ErrorCode::NotFound},     {MDB_READERS_FULL, ErrorCode::Temporary},
      {MDB_MAP_RESIZED, ErrorCode::Temporary}, {MDB_CORRUPTED, ErrorCode::Io},
      {MDB_VERSION_MISMATCH, ErrorCode::Io},   {EACCES, ErrorCode::Io},
      {MDB_BAD_TXN, ErrorCode::Internal},      {EINVAL, ErrorCode::Internal},
  };
  for (const auto& c : cases) {
    CAPTURE(c.rc);
    Error e = lmdbError(c.rc, "doing x");
    CHECK(e.code == c.want);
    CHECK(e.detail.rfind("doing x: ", 0) == 0);
  }
}

TEST_CASE("opening a new state_dir creates it 0750 with data.mdb, lock.mdb and schema 1") {
  TempDir tmp;
  std::string dir = tmp.sub("state");
  auto env = LmdbEnv::open({dir});
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  struct stat st{};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0750);
  CHECK(::stat((dir + "/data.mdb").c_str(), &st) == 0);
  CHECK(::stat((dir + "/lock.mdb").c_str(), &st) == 0);
  CHECK(readMeta(**env, "schema") == "1");
}

TEST_CASE("opening fails with the reason when the state_dir cannot be created") {
  TempDir tmp;
  auto env = LmdbEnv::open({tmp.sub("missing/parent")});
  REQUIRE_FALSE(env);
  CHECK(env.error().code == ErrorCode::Io);
  CHECK(env.error().detail.find("cannot create state_dir") != std::string::npos);
}

TEST_CASE("a store written by a newer schema is refused with a clear message") {
  TempDir tmp;
  {
    auto env = LmdbEnv::open({tmp.path()});
    REQUIRE(env);
    writeMeta(**env, "schema", "2");
  }
  for (bool read_only : {false, true}) {
    CAPTURE(read_only);
    LmdbOptions options{tmp.path()};
    options.read_only = read_only;
    auto env = LmdbEnv::open(options);
    REQUIRE_FALSE(env);
    CHECK(env.error().detail ==
          "state_dir " + tmp.path() + " was written by a newer mtastsd (schema 2); refusing to open");
  }
}

TEST_CASE("an unreadable schema record is refused") {
  TempDir tmp;
  {
    auto env = LmdbEnv::open({tmp.path()});
    REQUIRE(env);
    writeMeta(**env, "schema", "1x");
  }
  auto env = LmdbEnv::open({tmp.path()});
  REQUIRE_FALSE(env);
  CHECK(env.error().detail.find("unreadable schema record \"1x\"") != std::string::npos);
}

TEST_CASE("a non-empty store without a schema record is rebuilt as schema 1, every store of it") {
  TempDir tmp;
  {
    auto store = LmdbPolicyStore::open({tmp.path()});
    REQUIRE(store);
    REQUIRE((*store)->put("example.com", sampleRecord()));
    LmdbEnv& env = (*store)->env();
    auto counts = env.openStore({"counts", 1, {}});
    REQUIRE(counts);
    REQUIRE(env.write([&](WriteTxn& txn) { return txn.put(*counts, "k", "v"); }));
    auto r = env.write([&](WriteTxn& txn) -> Result<void> {
      auto deleted = txn.del(env.meta(), "schema");
      if (!deleted) return Unexpected{deleted.error()};
      return {};
    });
    REQUIRE(r);
  }
  SUBCASE("read-only refuses to migrate") {
    LmdbOptions options{tmp.path()};
    options.read_only = true;
    auto env = LmdbEnv::open(options);
    REQUIRE_FALSE(env);
    CHECK(env.error().detail.find("needs a migration") != std::string::npos);
  }
  SUBCASE("read-write drops the old entries and writes the schema") {
    auto store = LmdbPolicyStore::open({tmp.path()});
    REQUIRE(store);
    PolicyRecord out;
    auto got = (*store)->get("example.com", out);
    REQUIRE(got);
    CHECK_FALSE(*got);
    LmdbEnv& env = (*store)->env();
    CHECK(readMeta(env, "schema") == "1");
    auto counts = env.openStore({"counts", 1, {}});
    REQUIRE(counts);
    ReadTxn txn;
    REQUIRE(env.beginRead(txn));
    std::string_view value;
    CHECK_FALSE(*txn.get(*counts, "k", value));
  }
}

TEST_CASE("read-only opening needs an existing store and refuses writes") {
  TempDir tmp;
  LmdbOptions ro{tmp.sub("never-created")};
  ro.read_only = true;
  auto missing = LmdbEnv::open(ro);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::Io);

  REQUIRE(LmdbEnv::open({tmp.path()}));
  ro.dir = tmp.path();
  auto env = LmdbEnv::open(ro);
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  auto w = (*env)->write([](WriteTxn&) -> Result<void> { return {}; });
  REQUIRE_FALSE(w);
  CHECK(w.error().detail.find("read-only") != std::string::npos);
}

TEST_CASE("a write txn that is not committed leaves nothing behind") {
  TempDir tmp;
  auto env = LmdbEnv::open({tmp.path()});
  REQUIRE(env);
  {
    auto txn = (*env)->beginWrite();
    REQUIRE(txn);
    REQUIRE(txn->put((*env)->meta(), "k", "v"));
  }
  CHECK(readMeta(**env, "k") == "<missing>");
  {
    auto txn = (*env)->beginWrite();
    REQUIRE(txn);
    REQUIRE(txn->put((*env)->meta(), "k", "v"));
    REQUIRE(txn->commit());
    CHECK_FALSE(txn->commit());  // a second commit is refused, not a crash
  }
  CHECK(readMeta(**env, "k") == "v");
}

TEST_CASE("a full map doubles until the write fits") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  auto store = LmdbPolicyStore::open(options);
  REQUIRE(store);
  PolicyRecord record = paddedRecord(3000);
  int written = 0;
  for (; written < 400 && (*store)->env().mapSize() <= options.map_size; ++written) {
    auto r = (*store)->put("d" + std::to_string(written) + ".example", record);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
  }
  CHECK((*store)->env().mapSize() == 2 * options.map_size);
  for (int i = 0; i < written; ++i) {
    PolicyRecord out;
    auto got = (*store)->get("d" + std::to_string(i) + ".example", out);
    REQUIRE(got);
    CHECK(*got);
  }
  store->reset();
  // Reopening with the small configured size still sees everything (LMDB raises it).
  auto again = LmdbPolicyStore::open(options);
  REQUIRE(again);
  PolicyRecord out;
  CHECK(*(*again)->get("d" + std::to_string(written - 1) + ".example", out));
  CHECK((*again)->env().mapSize() == 2 * options.map_size);  // the grown size is kept
}

TEST_CASE("a map at max_map_size refuses the write with TooLarge and keeps serving reads") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  options.max_map_size = 128 << 10;
  auto store = LmdbPolicyStore::open(options);
  REQUIRE(store);
  PolicyRecord record = paddedRecord(3000);
  Result<void> last;
  int i = 0;
  for (; i < 200 && last; ++i) last = (*store)->put("d" + std::to_string(i) + ".example", record);
  REQUIRE_FALSE(last);
  CHECK(last.error().code == ErrorCode::TooLarge);
  CHECK(last.error().detail.find("max_map_size") != std::string::npos);
  PolicyRecord out;
  auto got = (*store)->get("d0.example", out);
  REQUIRE(got);
  CHECK(*got);
}
