// DayStore: the TLS-RPT day counts in the process's one LMDB env (cache/lmdb_env.hpp), in
// two named stores: "tlsrpt_days" (one record per day, report domain, descriptor and record;
// day_record_codec.hpp) and "tlsrpt_state" (source positions and the collector counters).
// It lives in tlsrpt/, not cache/, because its records are made of tlsrpt/ types and cache/
// may not include tlsrpt/. commit() is one write txn (the committer thread); reads take their
// own snapshot (any thread, also a read-only CLI next to the daemon). Errors: Result, with the
// codes of lmdbError(); an undecodable stored record is skipped on read and replaced on write.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/lmdb_env.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/day_aggregate.hpp"
#include "tlsrpt/day_entry.hpp"

namespace mtasts::tlsrpt {

// What one commit did besides adding the counts.
struct CommitResult {
  std::uint64_t overflowed = 0;  // failure counts that went to overflow rows in the merge
  std::uint64_t dropped = 0;     // sessions not stored: no free key (collisions) or unstorable
  std::uint64_t replaced = 0;    // undecodable stored records overwritten
  std::size_t records = 0;       // day records written
};

class DayStore {
 public:
  // Both version 1; a later incompatible change bumps one of them (the other store and the
  // policies are untouched, cache/store_spec.hpp).
  static const cache::StoreSpec& daysSpec();
  static const cache::StoreSpec& stateSpec();
  // Opens both stores in `env` (LmdbEnv::openStore: at startup, before other threads use the
  // env). Read-only and not yet created: NotFound.
  static Result<std::unique_ptr<DayStore>> attach(std::shared_ptr<cache::LmdbEnv> env);

  // Merges `delta` into the stored records in ONE write txn: each entry read, added to
  // (mergeDayEntry with limits.max_detail_rows, at most 1000) and written back; its positions
  // written; `counters` written when given. All of it or nothing is committed. An entry's day
  // outside 1970-9999 or beyond the record bounds is dropped (counted in the result).
  Result<CommitResult> commit(const DayDelta& delta, const CollectorCounters* counters, const DayLimits& limits);

  // Days that hold records, ascending.
  Result<std::vector<UtcDay>> days();
  // A day's entries in key order (domain, then digest): stable from call to call.
  Result<std::vector<DayEntry>> entries(UtcDay day);
  Result<std::vector<DayEntry>> entries(UtcDay day, std::string_view domain);
  // The first report domain of `day` that sorts after `after` ("" = the day's first), or
  // nullopt past the last: the report sender walks a day one domain at a time with it.
  Result<std::optional<std::string>> nextDomain(UtcDay day, std::string_view after);
  // A source position committed with the counts (nullopt: none yet).
  Result<std::optional<std::string>> position(std::string_view name);
  // The counters the daemon stored with its last commit (nullopt: none yet).
  Result<std::optional<CollectorCounters>> counters();

  // Deletes every record of a day before `oldest_kept`, in txns of at most a few thousand
  // deletes (each a short hold of LMDB's writer lock). Returns the records deleted.
  Result<std::size_t> sweep(UtcDay oldest_kept);

  cache::LmdbEnv& env() { return *env_; }

 private:
  DayStore(std::shared_ptr<cache::LmdbEnv> env, MDB_dbi days, MDB_dbi state)
      : env_(std::move(env)), days_(days), state_(state) {}
  Result<std::vector<DayEntry>> scanEntries(std::string_view prefix);
  Result<void> mergeOne(cache::WriteTxn& txn, const DayEntry& entry, const DayLimits& limits, CommitResult& result);

  std::shared_ptr<cache::LmdbEnv> env_;
  MDB_dbi days_;
  MDB_dbi state_;
};

}  // namespace mtasts::tlsrpt
