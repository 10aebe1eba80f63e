// LmdbEnv: opening the environment, starting txns through the gate, and growing the map.
// The schema and store versions are in lmdb_stores.cpp, the txn wrappers in lmdb_txn.cpp.
#include "cache/lmdb_env.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mtasts::cache {
namespace {

// meta + the stores + one spare: the schema check opens every sub-database it finds.
constexpr unsigned MaxDbis = MaxStores + 2;
constexpr mdb_mode_t FileMode = 0640;
constexpr mode_t DirMode = 0750;
// A write retried after the map grew can find it full again when another thread filled
// the new room meanwhile; growth stops at max_map_size anyway, this bounds the rest.
constexpr int MaxWriteAttempts = 8;

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

std::size_t envMapSize(MDB_env* env) {
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  return info.me_mapsize;
}

}  // namespace

LmdbEnv::~LmdbEnv() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Result<std::shared_ptr<LmdbEnv>> LmdbEnv::open(const LmdbOptions& options) {
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
  std::shared_ptr<LmdbEnv> env(new LmdbEnv(options));
  std::string where = fmt::format("cannot open state_dir {}", options.dir);
  if (int rc = mdb_env_create(&env->env_); rc != MDB_SUCCESS) {
    env->env_ = nullptr;
    return Unexpected{lmdbError(rc, where)};
  }
  int rc = mdb_env_set_maxdbs(env->env_, MaxDbis);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_mapsize(env->env_, roundToPages(options.map_size));
  // MDB_NOTLS: read txns are not bound to a thread, so a reset txn can be kept and renewed,
  // and threads (the TLS-RPT writer) start txns without using up per-thread reader slots.
  // MDB_NOMETASYNC: one fdatasync per commit instead of two; an OS crash may lose the last
  // commit (a cache entry, refetched later) but never the store's integrity (LMDB docs).
  // MDB_NOSYNC is not used: after an OS crash it can corrupt the store, and a store that
  // does not open stops the daemon, which defers all mail.
  unsigned flags = MDB_NOTLS | MDB_NOMETASYNC | (options.read_only ? MDB_RDONLY : 0U);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(env->env_, options.dir.c_str(), flags, FileMode);
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};

  // Use the larger of the configured size and the one on disk (grown earlier, or by another
  // process): a smaller configured size would otherwise shrink the map, then regrow it.
  std::size_t configured = envMapSize(env->env_);
  if (rc = mdb_env_set_mapsize(env->env_, 0);
      rc == MDB_SUCCESS && envMapSize(env->env_) < configured) {
    rc = mdb_env_set_mapsize(env->env_, configured);
  }
  if (rc != MDB_SUCCESS) return Unexpected{lmdbError(rc, where)};
  env->refreshMapSize();

  // A process killed inside a read txn leaves its reader slot behind: reclaim it now.
  int dead = 0;
  if (mdb_reader_check(env->env_, &dead) == MDB_SUCCESS && dead > 0) {
    logger()->info("cleared stale readers dir={} count={}", options.dir, dead);
  }
  if (auto r = env->openMeta(); !r) return Unexpected{std::move(r).error()};
  if (auto r = env->checkSchema(); !r) return Unexpected{std::move(r).error()};
  return env;
}

Result<void> LmdbEnv::openMeta() {
  // Nobody else has this env yet: no other txn can race mdb_dbi_open.
  MDB_txn* txn = nullptr;
  if (int rc = startTxn(nullptr, readOnly() ? MDB_RDONLY : 0U, &txn, false); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, "cannot open database meta")};
  }
  int rc = mdb_dbi_open(txn, "meta", readOnly() ? 0U : MDB_CREATE, &meta_);
  if (rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) {
      return fail(ErrorCode::NotFound, fmt::format("state_dir {} holds no database meta yet", dir()));
    }
    return Unexpected{lmdbError(rc, "cannot open database meta")};
  }
  // The handle becomes visible to later txns only once this txn commits (read-only too).
  if (rc = mdb_txn_commit(txn); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, "cannot open database meta")};
  }
  return {};
}

void LmdbEnv::refreshMapSize() { map_size_.store(envMapSize(env_), std::memory_order_relaxed); }

int LmdbEnv::startTxn(MDB_txn* renew, unsigned flags, MDB_txn** out, bool gated) {
  bool adopted_size = false;
  bool checked_readers = false;
  for (;;) {
    if (gated) gate_.enter();
    int rc = renew != nullptr ? mdb_txn_renew(renew) : mdb_txn_begin(env_, nullptr, flags, out);
    if (rc == MDB_SUCCESS) {
      if (renew != nullptr) *out = renew;
      return rc;
    }
    if (gated) gate_.leave();
    if (rc == MDB_MAP_RESIZED && !adopted_size) {
      // Another process grew the map past ours: adopt its size (0 = the size on disk).
      adopted_size = true;
      if (adoptMapSize(gated) != MDB_SUCCESS) return rc;
      continue;
    }
    if (rc == MDB_READERS_FULL && !checked_readers) {
      checked_readers = true;
      int dead = 0;
      if (mdb_reader_check(env_, &dead) != MDB_SUCCESS) return rc;
      logger()->warn("reader table full, cleared stale readers dir={} count={}", dir(), dead);
      continue;
    }
    return rc;
  }
}

int LmdbEnv::adoptMapSize(bool gated) {
  int rc = MDB_MAP_RESIZED;
  auto adopt = [&] {
    rc = mdb_env_set_mapsize(env_, 0);
    if (rc == MDB_SUCCESS) refreshMapSize();
  };
  // A thread that holds a txn cannot remap under itself: it keeps MDB_MAP_RESIZED (Temporary).
  if (gated && !gate_.exclusive(adopt)) return MDB_MAP_RESIZED;
  if (!gated) adopt();
  if (rc == MDB_SUCCESS) {
    logger()->info("adopted map size grown by another process dir={} map_size={}", dir(), mapSize());
  }
  return rc;
}

Result<void> LmdbEnv::beginRead(ReadTxn& txn) {
  if (txn.active_) return {};
  if (txn.txn_ != nullptr && txn.env_ != this) txn.abort();
  MDB_txn* raw = nullptr;
  int rc = startTxn(txn.txn_, MDB_RDONLY, &raw, true);
  if (rc != MDB_SUCCESS) {
    txn.abort();  // a failed renew leaves the handle in an unknown state: start afresh next time
    return Unexpected{lmdbError(rc, fmt::format("cannot start a read txn in {}", dir()))};
  }
  txn.env_ = this;
  txn.txn_ = raw;
  txn.active_ = true;
  return {};
}

Result<WriteTxn> LmdbEnv::beginWrite() { return beginWrite(true); }

Result<WriteTxn> LmdbEnv::beginWrite(bool gated) {
  if (readOnly()) {
    return fail(ErrorCode::Io, fmt::format("state_dir {} is open read-only", dir()));
  }
  MDB_txn* raw = nullptr;
  if (int rc = startTxn(nullptr, 0, &raw, gated); rc != MDB_SUCCESS) {
    return Unexpected{lmdbError(rc, fmt::format("cannot start a write txn in {}", dir()))};
  }
  return WriteTxn(this, raw, gated);
}

Result<void> LmdbEnv::grow(std::size_t full_at, bool gated) {
  if (!gated) return resize(full_at);
  Result<void> result;
  if (!gate_.exclusive([&] { result = resize(full_at); })) {
    return fail(ErrorCode::TooLarge,
                fmt::format("state_dir {} map full (map_size {}) and cannot grow while this "
                            "thread has a txn open",
                            dir(), full_at));
  }
  return result;
}

Result<void> LmdbEnv::resize(std::size_t full_at) {
  std::size_t current = envMapSize(env_);
  if (current > full_at) return {};  // another thread grew it while this one waited
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
  refreshMapSize();
  logger()->info("map grown dir={} old_size={} new_size={}", dir(), current, mapSize());
  return {};
}

Result<void> LmdbEnv::write(const WriteBody& body) { return runWrite(body, true); }

Result<void> LmdbEnv::runWrite(const WriteBody& body, bool gated) {
  for (int attempt = 1;; ++attempt) {
    int failed_rc = 0;
    std::size_t full_at = 0;
    Result<void> result;
    {
      auto txn = beginWrite(gated);
      if (!txn) return Unexpected{std::move(txn).error()};
      full_at = mapSize();  // cannot change while this txn is open
      result = body(*txn);
      if (result) result = txn->commit();
      failed_rc = txn->failedRc();
    }  // the txn is aborted here (if not committed): the map can only grow with none open
    if (result || failed_rc != MDB_MAP_FULL || attempt >= MaxWriteAttempts) return result;
    if (auto grown = grow(full_at, gated); !grown) return grown;
  }
}

}  // namespace mtasts::cache
