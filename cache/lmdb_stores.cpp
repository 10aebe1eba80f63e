// LmdbEnv's versions: the env schema check at open, and openStore() with each store's own
// version record ("version:<name>" in meta) and migration (store_spec.hpp).
#include "cache/lmdb_env.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>
#include <memory>
#include <vector>

namespace mtasts::cache {
namespace {

constexpr std::string_view SchemaKey = "schema";
constexpr std::string_view MetaName = "meta";
constexpr std::size_t MaxStoreName = 64;
// A sub-database that has no version record was written before per-store versions, when
// schema 1 alone described it (only "policies" existed then): it is version 1.
constexpr int UnrecordedVersion = 1;

std::shared_ptr<spdlog::logger> logger() {
  static auto logger = moduleLogger("cache");
  return logger;
}

// Parses a stored schema or version; anything but a small decimal is "unreadable".
bool parseVersion(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

std::string versionKey(std::string_view name) { return "version:" + std::string(name); }

Result<void> checkSpec(const StoreSpec& spec) {
  bool name_ok = !spec.name.empty() && spec.name.size() <= MaxStoreName && spec.name != MetaName;
  for (char c : spec.name) {
    name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '.' || c == '-');
  }
  if (!name_ok) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("store name \"{}\" must be 1 to {} bytes of [a-z0-9_.-] and not meta",
                            escapeForLog(spec.name, MaxStoreName), MaxStoreName));
  }
  if (spec.version < 1) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("store {} has version {}; versions start at 1", spec.name, spec.version));
  }
  return {};
}

struct TxnAborter {
  void operator()(MDB_txn* txn) const { mdb_txn_abort(txn); }
};
using RawTxn = std::unique_ptr<MDB_txn, TxnAborter>;

struct CursorCloser {
  void operator()(MDB_cursor* cursor) const { mdb_cursor_close(cursor); }
};

// The named sub-databases besides meta (keys of the unnamed database) with their handles
// opened in `txn`, and how many records they hold together.
struct SubDatabases {
  std::vector<MDB_dbi> dbis;
  std::size_t records = 0;
};

int listSubDatabases(MDB_txn* txn, SubDatabases& out) {
  MDB_dbi root = 0;
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &root); rc != MDB_SUCCESS) return rc;
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn, root, &raw); rc != MDB_SUCCESS) return rc;
  std::unique_ptr<MDB_cursor, CursorCloser> cursor(raw);
  std::vector<std::string> names;
  MDB_val key{0, nullptr};
  MDB_val value{0, nullptr};
  int rc = mdb_cursor_get(raw, &key, &value, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
    std::string name(static_cast<const char*>(key.mv_data), key.mv_size);
    if (name != MetaName && name.find('\0') == std::string::npos) names.push_back(std::move(name));
  }
  if (rc != MDB_NOTFOUND) return rc;
  cursor.reset();
  for (const auto& name : names) {
    MDB_dbi dbi = 0;
    rc = mdb_dbi_open(txn, name.c_str(), 0, &dbi);
    if (rc == MDB_INCOMPATIBLE) continue;  // a plain key in the unnamed database, not ours
    if (rc != MDB_SUCCESS) return rc;
    MDB_stat stat{};
    if (rc = mdb_stat(txn, dbi, &stat); rc != MDB_SUCCESS) return rc;
    out.dbis.push_back(dbi);
    out.records += stat.ms_entries;
  }
  return MDB_SUCCESS;
}

}  // namespace

Result<void> LmdbEnv::checkSchema() {
  // Called from open(): no other thread has this env, so mdb_dbi_open cannot race a txn.
  ReadTxn txn;
  if (auto r = beginRead(txn); !r) return r;
  std::string_view stored;
  auto found = txn.get(meta_, SchemaKey, stored);
  if (!found) return Unexpected{std::move(found).error()};
  int version = 0;
  if (*found && !parseVersion(stored, version)) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} has an unreadable schema record \"{}\"; refusing to open",
                            dir(), escapeForLog(stored, 32)));
  }
  if (version > SchemaVersion) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} was written by a newer mtastsd (schema {}); "
                            "refusing to open",
                            dir(), version));
  }
  if (*found && version == SchemaVersion) return {};
  // Schema 0 (no schema record): nothing in it is versioned, so no record can be trusted.
  SubDatabases old;
  if (int rc = listSubDatabases(txn.raw(), old); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot list the databases of {}", dir()))};
  }
  txn.reset();
  if (readOnly()) {
    if (old.records == 0) return {};  // a new, empty store: nothing to read, nothing to migrate
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} has schema {} and needs a migration; open it "
                            "read-write (start mtastsd) first",
                            dir(), version));
  }
  if (old.records > 0) {
    logger()->warn("rebuilding state_dir written without a schema dir={} old_schema={} "
                   "new_schema={} dropped={}",
                   dir(), version, SchemaVersion, old.records);
  }
  std::string value = std::to_string(SchemaVersion);
  return write([&](WriteTxn& w) -> Result<void> {
    SubDatabases dropped;
    if (auto r = w.check(listSubDatabases(w.raw(), dropped), "cannot list databases"); !r) return r;
    for (MDB_dbi dbi : dropped.dbis) {
      if (auto r = w.check(mdb_drop(w.raw(), dbi, 1), "cannot drop a database"); !r) return r;
    }
    return w.put(meta_, SchemaKey, value);
  });
}

std::vector<std::pair<std::string, MDB_dbi>> LmdbEnv::openStores() {
  std::lock_guard lock(stores_mutex_);
  std::vector<std::pair<std::string, MDB_dbi>> out;
  for (const auto& open : stores_) out.emplace_back(open.name, open.dbi);
  return out;
}

Result<std::size_t> LmdbEnv::entries(MDB_dbi dbi) {
  ReadTxn txn;
  if (auto ok = beginRead(txn); !ok) return Unexpected{std::move(ok).error()};
  MDB_stat stat{};
  if (int rc = mdb_stat(txn.raw(), dbi, &stat); rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, "mdb_stat")};
  return static_cast<std::size_t>(stat.ms_entries);
}

LmdbEnv::Usage LmdbEnv::usage() const {
  MDB_envinfo info{};
  MDB_stat stat{};
  Usage out;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &stat) != MDB_SUCCESS) return out;
  out.map_size = info.me_mapsize;
  out.used_bytes = (info.me_last_pgno + 1) * static_cast<std::size_t>(stat.ms_psize);
  return out;
}

Result<MDB_dbi> LmdbEnv::openStore(const StoreSpec& spec) {
  if (auto r = checkSpec(spec); !r) return Unexpected{std::move(r).error()};
  std::lock_guard lock(stores_mutex_);
  for (const auto& open : stores_) {
    if (open.name != spec.name) continue;
    if (open.version == spec.version) return open.dbi;
    return fail(ErrorCode::Internal, fmt::format("store {} is already open with version {}, not {}",
                                                 spec.name, open.version, spec.version));
  }
  if (stores_.size() >= MaxStores) {
    return fail(ErrorCode::TooLarge, fmt::format("cannot open store {}: {} stores are open already",
                                                 spec.name, MaxStores));
  }
  Result<MDB_dbi> result = fail(ErrorCode::Internal, "store not opened");
  bool ran = gate_.exclusive([&] {
    result = readOnly() ? openStoreReadOnly(spec) : openStoreReadWrite(spec);
  });
  if (!ran) {
    return fail(ErrorCode::Internal,
                fmt::format("cannot open store {} while this thread has a txn open", spec.name));
  }
  if (result) stores_.push_back(OpenStore{spec.name, spec.version, *result});
  return result;
}

namespace {

Error newerStore(const std::string& dir, const StoreSpec& spec, int version) {
  return Error{ErrorCode::InvalidInput,
               fmt::format("state_dir {}: store {} was written by a newer mtastsd (version {}, "
                           "this one reads {}); refusing to open",
                           dir, spec.name, version, spec.version)};
}

Error unreadableVersion(const std::string& dir, const StoreSpec& spec, std::string_view stored) {
  return Error{ErrorCode::InvalidInput,
               fmt::format("state_dir {} has an unreadable version record for store {} \"{}\"; "
                           "refusing to open",
                           dir, spec.name, escapeForLog(stored, 32))};
}

}  // namespace

Result<MDB_dbi> LmdbEnv::openStoreReadOnly(const StoreSpec& spec) {
  // Runs inside gate_.exclusive(): the txn does not enter the gate.
  const std::string where = fmt::format("cannot open store {} in {}", spec.name, dir());
  MDB_txn* raw = nullptr;
  if (int rc = startTxn(nullptr, MDB_RDONLY, &raw, false); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, where)};
  }
  RawTxn txn(raw);
  const std::string key = versionKey(spec.name);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{0, nullptr};
  int version = UnrecordedVersion;
  int rc = mdb_get(raw, meta_, &k, &v);
  if (rc == MDB_SUCCESS) {
    std::string_view stored(static_cast<const char*>(v.mv_data), v.mv_size);
    if (!parseVersion(stored, version)) return Unexpected{unreadableVersion(dir(), spec, stored)};
  } else if (rc != MDB_NOTFOUND) {
    return Unexpected{lmdbError(rc, where)};
  }
  MDB_dbi dbi = 0;
  rc = mdb_dbi_open(raw, spec.name.c_str(), 0, &dbi);
  if (rc == MDB_NOTFOUND) {
    return fail(ErrorCode::NotFound, fmt::format("state_dir {} holds no store {} yet", dir(), spec.name));
  }
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};
  if (version > spec.version) return Unexpected{newerStore(dir(), spec, version)};
  if (version < spec.version) {
    MDB_stat stat{};
    if (rc = mdb_stat(raw, dbi, &stat); rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};
    // Read-only never migrates: old records cannot be read as new ones. An empty store has
    // nothing to misread, so it opens (the daemon writes its version on its next start).
    if (stat.ms_entries > 0) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("state_dir {}: store {} has version {} and needs a migration to {}; "
                              "open it read-write (start mtastsd) first",
                              dir(), spec.name, version, spec.version));
    }
  }
  // Committing a read txn keeps the handle it opened for the env's later txns.
  if (rc = mdb_txn_commit(txn.release()); rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};
  return dbi;
}

Result<MDB_dbi> LmdbEnv::openStoreReadWrite(const StoreSpec& spec) {
  // Runs inside gate_.exclusive(): runWrite(..., false) neither enters the gate nor waits
  // for it to grow the map.
  const std::string key = versionKey(spec.name);
  const std::string target = std::to_string(spec.version);
  MDB_dbi dbi = 0;
  int from = 0;
  std::size_t records = 0;
  bool migrated = false;
  auto written = runWrite(
      [&](WriteTxn& txn) -> Result<void> {
        migrated = false;
        std::string_view stored;
        auto found = txn.get(meta_, key, stored);
        if (!found) return Unexpected{std::move(found).error()};
        int version = UnrecordedVersion;
        if (*found && !parseVersion(stored, version)) {
          return Unexpected{unreadableVersion(dir(), spec, stored)};
        }
        int rc = mdb_dbi_open(txn.raw(), spec.name.c_str(), 0, &dbi);
        if (rc == MDB_NOTFOUND) {
          // A new store (a version record left without its sub-database is overwritten).
          rc = mdb_dbi_open(txn.raw(), spec.name.c_str(), MDB_CREATE, &dbi);
          if (auto r = txn.check(rc, "cannot create the store"); !r) return r;
          return txn.put(meta_, key, target);
        }
        if (auto r = txn.check(rc, "cannot open the store"); !r) return r;
        if (version > spec.version) return Unexpected{newerStore(dir(), spec, version)};
        if (version < spec.version) {
          MDB_stat stat{};
          if (auto r = txn.check(mdb_stat(txn.raw(), dbi, &stat), "cannot stat the store"); !r) {
            return r;
          }
          from = version;
          records = stat.ms_entries;
          migrated = true;
          auto r = spec.migrate ? spec.migrate(txn, dbi, version) : txn.clear(dbi);
          if (!r) {
            Error e = std::move(r).error();
            e.detail = fmt::format("state_dir {}: cannot migrate store {} from version {} to {}: {}",
                                   dir(), spec.name, version, spec.version, e.detail);
            return Unexpected{std::move(e)};
          }
        }
        if (*found && version == spec.version) return {};
        return txn.put(meta_, key, target);  // also records the version of an unrecorded store
      },
      false);
  if (!written) return Unexpected{std::move(written).error()};
  if (migrated) {
    logger()->warn("store migrated dir={} store={} old_version={} new_version={} records={} how={}",
                   dir(), spec.name, from, spec.version, records,
                   spec.migrate ? "migration" : "emptied");
  }
  return dbi;
}

}  // namespace mtasts::cache
