// LmdbEnv: the one LMDB environment of a process under a state_dir (data.mdb + lock.mdb), its
// "meta" sub-database (env schema, per-store versions) and a registry of named stores, each
// opened by openStore(StoreSpec) with its own version and migration (store_spec.hpp); scoped
// ReadTxn / WriteTxn. Owns the MDB_env; stores share it (shared_ptr), txns borrow it. Several
// processes may share a state_dir, but a process opens it ONCE (LMDB: closing a second handle
// drops the first one's locks). Errors: Result, mapped by lmdbError(). Threads: see below.
//
// Threading rules (MDB_NOTLS; LmdbEnv itself is thread-safe):
// - Any thread may read and write. A txn is used by one thread at a time and ends on the
//   thread that began it (LMDB ties a write txn to its thread; the gate counts per thread).
//   Values returned by get() point into the map and stay valid until their txn ends.
// - LMDB serialises writers across threads and processes: beginWrite()/write() block while
//   another write txn is open, including its commit's fdatasync. A thread that must never
//   wait on the disk (the TLS-RPT socket reader) hands its batches to a writer thread.
// - The map is resized only while no txn of the process is open (TxnGate): on MDB_MAP_FULL
//   the writing thread aborts, waits until the other threads' txns end (new ones wait for
//   it: a few microseconds, the remap itself), doubles the map up to max_map_size and
//   retries. A thread that holds a txn of its own (a put() inside forEach()) cannot wait
//   for itself: its write fails TooLarge. Adopting a map grown by another process likewise.
// - openStore() runs with every other txn of the process held back (mdb_dbi_open must not
//   race another txn): call it at startup, before handing the env to other threads.
// - The env closes with its last shared_ptr: stop (join) the threads that use it first.
#pragma once

#include "cache/store_spec.hpp"
#include "cache/txn_gate.hpp"
#include "common/result.hpp"

#include <lmdb.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::cache {

// The layout of the environment that a binary must understand to open it at all: "meta"
// with "schema" and one "version:<name>" per store, a named sub-database per store. Stores
// version themselves (StoreSpec::version); this changes only if that layout does.
inline constexpr int SchemaVersion = 1;
inline constexpr std::size_t MaxStores = 30;  // named stores per env, besides "meta"

struct LmdbOptions {
  std::string dir;                         // state_dir; created 0750 if missing (not read-only)
  // The map is address space: data.mdb and RSS grow only with the pages written / read.
  std::size_t map_size = 64 << 20;         // initial map size
  std::size_t max_map_size = 1 << 30;      // the map doubles up to this on MDB_MAP_FULL
  bool read_only = false;                  // MDB_RDONLY, e.g. a CLI --dump next to the daemon
};

// The one mapping from an MDB_* / errno code to an Error: MDB_MAP_FULL, MDB_TXN_FULL -> TooLarge,
// MDB_NOTFOUND -> NotFound, MDB_READERS_FULL, MDB_MAP_RESIZED, EAGAIN, EBUSY -> Temporary,
// corruption / version / EIO / EACCES / ENOENT ... -> Io, misuse -> Internal.
Error lmdbError(int rc, std::string_view what);

class LmdbEnv;

// Visits the records of `dbi` whose key starts with `prefix` (all for ""), in key order, in
// an active read or write txn (ReadTxn::raw(), WriteTxn::raw()), until `visit` returns false.
// Keys and values point into the map (valid until the txn ends); `visit` must not write to
// `dbi` (collect the keys, then delete them).
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;
Result<void> scanPrefix(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, const ScanVisitor& visit);

// A read-only snapshot. Reusable: reset() releases the snapshot but keeps the handle and
// its reader slot, LmdbEnv::beginRead() renews it (a reset txn may move to another thread).
// The destructor aborts.
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
// call fails the txn is unusable (LMDB rule): abort it by letting it go. Never moves to
// another thread.
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
  WriteTxn(LmdbEnv* env, MDB_txn* txn, bool gated) : env_(env), txn_(txn), gated_(gated) {}
  Result<void> check(int rc, std::string_view what);
  void end();  // leaves the gate once the txn is gone
  LmdbEnv* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
  int failed_rc_ = 0;
  bool gated_ = false;  // entered the gate (false inside an exclusive section)
};

class LmdbEnv {
 public:
  using WriteBody = std::function<Result<void>(WriteTxn&)>;

  // Opens (creating if needed) the environment and "meta", and checks the env schema:
  // newer than SchemaVersion or unreadable = refused; missing while some sub-database holds
  // records = written before schemas existed: every sub-database is dropped (read-only:
  // refused). Stores are opened afterwards with openStore().
  static Result<std::shared_ptr<LmdbEnv>> open(const LmdbOptions& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  // Opens the store's sub-database and brings it to spec.version, returning its handle (valid
  // for every thread until the env closes). Reads "version:<name>" from meta; a sub-database
  // without one was written before per-store versions, under schema 1: version 1.
  // - absent: created with its version record (read-only: NotFound, nothing to read yet);
  // - newer than spec.version: InvalidInput "... written by a newer mtastsd ...";
  // - older: spec.migrate (or emptied) in one txn with the new version record. Read-only
  //   never migrates: an older store that holds records is refused (InvalidInput "needs a
  //   migration"), an empty one opens.
  // Opening a name again returns the same handle if the version matches (Internal if not).
  Result<MDB_dbi> openStore(const StoreSpec& spec);

  // Env bookkeeping ("schema", "version:<name>"); stores keep their data in their own DBI.
  MDB_dbi meta() const { return meta_; }

  bool readOnly() const { return options_.read_only; }
  const std::string& dir() const { return options_.dir; }
  std::size_t mapSize() const { return map_size_.load(std::memory_order_relaxed); }
  // Whether a thread waits to resize the map or open a store (tests observe growth with it).
  bool exclusivePending() const { return gate_.exclusivePending(); }

  // For metrics, read at scrape time: the map's size and the bytes it uses (pages up to the
  // last one written), the stores opened so far in opening order, and a store's record
  // count (in a short read txn of its own; do not call it while this thread holds a txn).
  struct Usage {
    std::size_t map_size = 0;
    std::size_t used_bytes = 0;
  };
  Usage usage() const;
  std::vector<std::pair<std::string, MDB_dbi>> openStores();
  Result<std::size_t> entries(MDB_dbi dbi);

  // Starts `txn` (renewing it if it was reset). Retries once on MDB_MAP_RESIZED (adopts
  // the size another process set) and on MDB_READERS_FULL (after mdb_reader_check).
  Result<void> beginRead(ReadTxn& txn);
  Result<WriteTxn> beginWrite();
  // Runs `body` in a write txn and commits. On MDB_MAP_FULL (from body or commit) the map
  // doubles up to max_map_size and the whole write runs again, so body must be idempotent
  // (it only sees the aborted txn's effects through its own captures).
  Result<void> write(const WriteBody& body);

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  struct OpenStore {
    std::string name;
    int version = 0;
    MDB_dbi dbi = 0;
  };

  explicit LmdbEnv(LmdbOptions options) : options_(std::move(options)) {}
  int startTxn(MDB_txn* renew, unsigned flags, MDB_txn** out, bool gated);
  Result<WriteTxn> beginWrite(bool gated);
  Result<void> runWrite(const WriteBody& body, bool gated);
  int adoptMapSize(bool gated);
  Result<void> grow(std::size_t full_at, bool gated);
  Result<void> resize(std::size_t full_at);  // gate held exclusively
  void refreshMapSize();
  Result<void> openMeta();
  Result<void> checkSchema();
  Result<MDB_dbi> openStoreReadOnly(const StoreSpec& spec);
  Result<MDB_dbi> openStoreReadWrite(const StoreSpec& spec);

  LmdbOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0;
  std::atomic<std::size_t> map_size_{0};
  TxnGate gate_;
  std::mutex stores_mutex_;  // serialises openStore(); guards stores_
  std::vector<OpenStore> stores_;
};

}  // namespace mtasts::cache
