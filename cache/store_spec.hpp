// StoreSpec: what a store declares to LmdbEnv::openStore(): the name of its sub-database,
// the version of the records it reads and writes, and how to bring an older sub-database up
// to it. The version lives in the env's "meta" sub-database under "version:<name>" (decimal
// text, like "schema"), so each store migrates on its own: a change of one store never
// clears another. The migration runs on the opening thread inside one write txn that also
// writes the new version (all or nothing); it reports failure as Result.
#pragma once

#include "common/result.hpp"

#include <lmdb.h>

#include <functional>
#include <string>

namespace mtasts::cache {

class WriteTxn;

struct StoreSpec {
  // Brings `dbi` from version `from` (0 <= from < version) to `version` inside `txn`:
  // rewrite, convert or delete records. It may run more than once (the txn is retried
  // after the map grows), each time on the untouched old records. It must use only `txn`:
  // the env is held exclusively meanwhile, so starting another txn would deadlock. An
  // error leaves the store at `from` with its records, and openStore() fails with it.
  using Migration = std::function<Result<void>(WriteTxn& txn, MDB_dbi dbi, int from)>;

  std::string name;    // sub-database name: 1-64 bytes of [a-z0-9_.-], not "meta"
  int version = 1;     // >= 1; bump it when the store's records change incompatibly
  Migration migrate;   // empty: an older sub-database is emptied ("rebuild this store only")
};

}  // namespace mtasts::cache
