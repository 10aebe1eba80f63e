// LmdbEnv: one LMDB environment under a state_dir (data.mdb + lock.mdb), its named DBIs
// ("policies", "meta"), the schema-version check, and scoped ReadTxn / WriteTxn. Owns the
// MDB_env; txns borrow it and must not outlive it. Event-loop thread only (MDB_NOTLS, so
// read txns are not tied to a thread). Several processes may share a state_dir, but one
// process must open a state_dir only ONCE (LMDB rule: closing a second handle drops the
// first one's locks); share the LmdbEnv instead. Errors: Result, mapped by lmdbError().
#pragma once

#include "common/result.hpp"

#include <lmdb.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace mtasts::cache {

inline constexpr int SchemaVersion = 1;

struct LmdbOptions {
  std::string dir;                         // state_dir; created 0750 if missing (not read-only)
  std::size_t map_size = 64 << 20;         // initial map size
  std::size_t max_map_size = 1 << 30;      // the map doubles up to this on MDB_MAP_FULL
  bool read_only = false;                  // MDB_RDONLY, e.g. a CLI --dump next to the daemon
};

// The one mapping from an MDB_* / errno code to an Error: MDB_MAP_FULL, MDB_TXN_FULL -> TooLarge,
// MDB_NOTFOUND -> NotFound, MDB_READERS_FULL, MDB_MAP_RESIZED, EAGAIN, EBUSY -> Temporary,
// corruption / version / EIO / EACCES / ENOENT ... -> Io, misuse -> Internal.
Error lmdbError(int rc, std::string_view what);

class LmdbEnv;

// A read-only snapshot. Reusable: reset() releases the snapshot but keeps the handle and
// its reader slot, LmdbEnv::beginRead() renews it. The destructor aborts.
class ReadTxn {
 public:
  ReadTxn() = default;
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  ~ReadTxn();

  bool active() const { return active_; }
  // true and `value` (pointing into the map, valid until reset) when present.
  Result<bool> get(MDB_dbi dbi, std::string_view key, std::string_view& value) const;
  void reset();
  MDB_txn* raw() const { return txn_; }

 private:
  friend class LmdbEnv;
  void abort();
  LmdbEnv* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
  bool active_ = false;
};

// A write transaction; aborted by the destructor unless commit() succeeded. After any
// call fails the txn is unusable (LMDB rule): abort it by letting it go.
class WriteTxn {
 public:
  WriteTxn(WriteTxn&& other) noexcept;
  WriteTxn& operator=(WriteTxn&&) = delete;
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  ~WriteTxn();

  Result<bool> get(MDB_dbi dbi, std::string_view key, std::string_view& value);
  Result<void> put(MDB_dbi dbi, std::string_view key, std::string_view value);
  Result<bool> del(MDB_dbi dbi, std::string_view key);  // true if it existed
  Result<void> clear(MDB_dbi dbi);                      // empties the DBI, keeps it
  Result<void> commit();
  // The MDB code of the last failed call (0 if none); LmdbEnv::write() retries on MAP_FULL.
  int failedRc() const { return failed_rc_; }
  MDB_txn* raw() const { return txn_; }

 private:
  friend class LmdbEnv;
  WriteTxn(LmdbEnv* env, MDB_txn* txn) : env_(env), txn_(txn) {}
  Result<void> check(int rc, std::string_view what);
  LmdbEnv* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
  int failed_rc_ = 0;
};

class LmdbEnv {
 public:
  // Opens (creating if needed) the environment, its DBIs, and checks / writes the schema
  // record: missing in a non-empty store = schema 0, rebuilt (policies dropped); newer
  // than SchemaVersion = refused.
  static Result<std::unique_ptr<LmdbEnv>> open(const LmdbOptions& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  MDB_dbi policies() const { return policies_; }
  MDB_dbi meta() const { return meta_; }
  // Opens (creating unless read-only) another named DBI, e.g. for TLS-RPT counters.
  Result<MDB_dbi> openDbi(const std::string& name);

  bool readOnly() const { return options_.read_only; }
  const std::string& dir() const { return options_.dir; }
  std::size_t mapSize() const;

  // Starts `txn` (renewing it if it was reset). Retries once on MDB_MAP_RESIZED (adopts
  // the size another process set) and on MDB_READERS_FULL (after mdb_reader_check).
  Result<void> beginRead(ReadTxn& txn);
  Result<WriteTxn> beginWrite();
  // Runs `body` in a write txn and commits. On MDB_MAP_FULL (from body or commit) the map
  // doubles up to max_map_size and the whole write runs once more, so body must be
  // idempotent (it only sees the aborted txn's effects through its own captures).
  Result<void> write(const std::function<Result<void>(WriteTxn&)>& body);

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  explicit LmdbEnv(LmdbOptions options) : options_(std::move(options)) {}
  int startTxn(MDB_txn* renew, unsigned flags, MDB_txn** out);
  Result<void> grow();
  Result<void> openDbis();
  Result<void> checkSchema();

  LmdbOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi policies_ = 0;
  MDB_dbi meta_ = 0;
  int active_readers_ = 0;  // the map may only be remapped when this is 0
};

}  // namespace mtasts::cache
