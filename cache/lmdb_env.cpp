#include "cache/lmdb_env.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace mtasts::cache {
namespace {

constexpr unsigned MaxDbis = 8;  // policies, meta, and room for the TLS-RPT counters
constexpr mdb_mode_t FileMode = 0640;
constexpr mode_t DirMode = 0750;
constexpr std::string_view SchemaKey = "schema";

std::shared_ptr<spdlog::logger> logger() {
  static auto logger = moduleLogger("cache");
  return logger;
}

std::size_t pageSize() {
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<std::size_t>(page) : 4096;
}

std::size_t roundToPages(std::size_t size) {
  std::size_t page = pageSize();
  return size < page ? page : size / page * page;
}

// Parses the stored schema value; anything but a small decimal is "unreadable".
bool parseSchema(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

LmdbEnv::~LmdbEnv() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Result<std::unique_ptr<LmdbEnv>> LmdbEnv::open(const LmdbOptions& options) {
  if (options.dir.empty()) return fail(ErrorCode::InvalidInput, "state_dir is empty");
  if (options.map_size == 0 || options.max_map_size < options.map_size) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {}: map_size {} must be > 0 and <= max_map_size {}",
                            options.dir, options.map_size, options.max_map_size));
  }
  if (!options.read_only && ::mkdir(options.dir.c_str(), DirMode) != 0 && errno != EEXIST) {
    return fail(ErrorCode::Io, fmt::format("cannot create state_dir {}: {}", options.dir,
                                           std::strerror(errno)));
  }
  std::unique_ptr<LmdbEnv> env(new LmdbEnv(options));
  std::string where = fmt::format("cannot open state_dir {}", options.dir);
  if (int rc = mdb_env_create(&env->env_); rc != MDB_SUCCESS) {
    env->env_ = nullptr;
    return Unexpected{lmdbError(rc, where)};
  }
  int rc = mdb_env_set_maxdbs(env->env_, MaxDbis);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_mapsize(env->env_, roundToPages(options.map_size));
  // MDB_NOTLS: read txns are not bound to a thread, so a reset txn can be kept and renewed.
  // MDB_NOMETASYNC: one fdatasync per commit instead of two; an OS crash may lose the last
  // commit (a cache entry, refetched later) but never the store's integrity (LMDB docs).
  // MDB_NOSYNC is not used: after an OS crash it can corrupt the store, and a store that
  // does not open stops the daemon, which defers all mail.
  unsigned flags = MDB_NOTLS | MDB_NOMETASYNC | (options.read_only ? MDB_RDONLY : 0U);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(env->env_, options.dir.c_str(), flags, FileMode);
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};

  // Use the larger of the configured size and the one on disk (grown earlier, or by another
  // process): a smaller configured size would otherwise shrink the map, then regrow it.
  std::size_t configured = env->mapSize();
  if (rc = mdb_env_set_mapsize(env->env_, 0); rc == MDB_SUCCESS && env->mapSize() < configured) {
    rc = mdb_env_set_mapsize(env->env_, configured);
  }
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};

  // A process killed inside a read txn leaves its reader slot behind: reclaim it now.
  int dead = 0;
  if (mdb_reader_check(env->env_, &dead) == MDB_SUCCESS && dead > 0) {
    logger()->info("cleared stale readers dir={} count={}", options.dir, dead);
  }
  if (auto r = env->openDbis(); !r) return Unexpected{std::move(r).error()};
  if (auto r = env->checkSchema(); !r) return Unexpected{std::move(r).error()};
  return env;
}

Result<MDB_dbi> LmdbEnv::openDbi(const std::string& name) {
  MDB_txn* txn = nullptr;
  unsigned txn_flags = readOnly() ? MDB_RDONLY : 0U;
  if (int rc = startTxn(nullptr, txn_flags, &txn); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot open database {}", name))};
  }
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn, name.c_str(), readOnly() ? 0U : MDB_CREATE, &dbi);
  if (rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) {
      return fail(ErrorCode::NotFound,
                  fmt::format("state_dir {} holds no database {} yet", dir(), name));
    }
    return Unexpected{lmdbError(rc, fmt::format("cannot open database {}", name))};
  }
  // The handle becomes visible to later txns only once this txn commits (read-only too).
  if (rc = mdb_txn_commit(txn); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot open database {}", name))};
  }
  return dbi;
}

Result<void> LmdbEnv::openDbis() {
  auto policies = openDbi("policies");
  if (!policies) return Unexpected{std::move(policies).error()};
  auto meta = openDbi("meta");
  if (!meta) return Unexpected{std::move(meta).error()};
  policies_ = *policies;
  meta_ = *meta;
  return {};
}

Result<void> LmdbEnv::checkSchema() {
  ReadTxn txn;
  if (auto r = beginRead(txn); !r) return r;
  std::string_view stored;
  auto found = txn.get(meta_, SchemaKey, stored);
  if (!found) return Unexpected{std::move(found).error()};
  int version = 0;
  if (*found && !parseSchema(stored, version)) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} has an unreadable schema record \"{}\"; refusing to open",
                            dir(), escapeForLog(stored, 32)));
  }
  MDB_stat stat{};
  if (int rc = mdb_stat(txn.raw(), policies_, &stat); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, "cannot read the policies database")};
  }
  txn.reset();
  if (version > SchemaVersion) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} was written by a newer mtastsd (schema {}); "
                            "refusing to open",
                            dir(), version));
  }
  if (*found && version == SchemaVersion) return {};
  // Schema 0 (no schema record in a non-empty store) is the only older one: rebuild.
  bool rebuild = stat.ms_entries > 0;
  if (readOnly()) {
    if (!rebuild) return {};  // a new, empty store: nothing to read, nothing to migrate
    return fail(ErrorCode::InvalidInput,
                fmt::format("state_dir {} has schema {} and needs a migration; open it "
                            "read-write (start mtastsd) first",
                            dir(), version));
  }
  if (rebuild) {
    logger()->warn("rebuilding policy cache dir={} old_schema={} new_schema={} dropped={}", dir(),
                version, SchemaVersion, stat.ms_entries);
  }
  std::string value = std::to_string(SchemaVersion);
  return write([&](WriteTxn& w) -> Result<void> {
    if (rebuild) {
      if (auto r = w.clear(policies_); !r) return r;
    }
    return w.put(meta_, SchemaKey, value);
  });
}

std::size_t LmdbEnv::mapSize() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

int LmdbEnv::startTxn(MDB_txn* renew, unsigned flags, MDB_txn** out) {
  bool adopted_size = false;
  bool checked_readers = false;
  for (;;) {
    int rc = renew != nullptr ? mdb_txn_renew(renew) : mdb_txn_begin(env_, nullptr, flags, out);
    if (rc == MDB_MAP_RESIZED && !adopted_size && active_readers_ == 0) {
      // Another process grew the map past ours: adopt its size (0 = the size on disk).
      adopted_size = true;
      rc = mdb_env_set_mapsize(env_, 0);
      if (rc != MDB_SUCCESS) return rc;
      logger()->info("adopted map size grown by another process dir={} map_size={}", dir(),
                  mapSize());
      continue;
    }
    if (rc == MDB_READERS_FULL && !checked_readers) {
      checked_readers = true;
      int dead = 0;
      if (mdb_reader_check(env_, &dead) != MDB_SUCCESS) return rc;
      logger()->warn("reader table full, cleared stale readers dir={} count={}", dir(), dead);
      continue;
    }
    if (rc == MDB_SUCCESS && renew != nullptr) *out = renew;
    return rc;
  }
}

Result<void> LmdbEnv::beginRead(ReadTxn& txn) {
  if (txn.active_) return {};
  if (txn.txn_ != nullptr && txn.env_ != this) txn.abort();
  MDB_txn* raw = nullptr;
  int rc = startTxn(txn.txn_, MDB_RDONLY, &raw);
  if (rc != MDB_SUCCESS) {
    txn.abort();  // a failed renew leaves the handle in an unknown state: start afresh next time
    return Unexpected{lmdbError(rc, fmt::format("cannot start a read txn in {}", dir()))};
  }
  txn.env_ = this;
  txn.txn_ = raw;
  txn.active_ = true;
  ++active_readers_;
  return {};
}

Result<WriteTxn> LmdbEnv::beginWrite() {
  if (readOnly()) {
    return fail(ErrorCode::Io, fmt::format("state_dir {} is open read-only", dir()));
  }
  MDB_txn* raw = nullptr;
  if (int rc = startTxn(nullptr, 0, &raw); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot start a write txn in {}", dir()))};
  }
  return WriteTxn(this, raw);
}

Result<void> LmdbEnv::grow() {
  std::size_t current = mapSize();
  if (active_readers_ > 0) {
    return fail(ErrorCode::TooLarge,
                fmt::format("state_dir {} map full (map_size {}) and cannot grow while a read "
                            "txn is open",
                            dir(), current));
  }
  if (current >= options_.max_map_size) {
    return fail(ErrorCode::TooLarge,
                fmt::format("state_dir {} is full: map_size {} reached max_map_size {}", dir(),
                            current, options_.max_map_size));
  }
  std::size_t next = current > options_.max_map_size / 2 ? options_.max_map_size : current * 2;
  next = roundToPages(next);
  if (int rc = mdb_env_set_mapsize(env_, next); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot grow the map of {}", dir()))};
  }
  logger()->info("map grown dir={} old_size={} new_size={}", dir(), current, mapSize());
  return {};
}

Result<void> LmdbEnv::write(const std::function<Result<void>(WriteTxn&)>& body) {
  for (int attempt = 0;; ++attempt) {
    int failed_rc = 0;
    Result<void> result;
    {
      auto txn = beginWrite();
      if (!txn) return Unexpected{std::move(txn).error()};
      result = body(*txn);
      if (result) result = txn->commit();
      failed_rc = txn->failedRc();
    }  // the txn is aborted here (if not committed): the map can only grow with none open
    if (result || failed_rc != MDB_MAP_FULL || attempt > 0) return result;
    if (auto grown = grow(); !grown) return grown;
  }
}

}  // namespace mtasts::cache
