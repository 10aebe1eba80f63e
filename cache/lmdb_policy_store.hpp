// LmdbPolicyStore: the PolicyStore kept in LMDB under state_dir (the store "policies",
// values encoded by record_codec). Shares the process's one LmdbEnv; get() reuses one read
// txn, reset after every call so other processes can reclaim pages. One thread (the event
// loop); other threads may use the same env for their own stores meanwhile. Errors come back
// as Result (lmdbError() codes); an undecodable record reads as absent (warned once per
// domain) and is replaced by the next put().
#pragma once

#include "cache/lmdb_env.hpp"
#include "cache/policy_store.hpp"

#include <memory>
#include <string>
#include <unordered_set>

namespace mtasts::cache {

class LmdbPolicyStore final : public PolicyStore {
 public:
  // Store version 1 since the first release: record_codec versions each value itself
  // (1 and 2 are read), so a codec change needs no store migration.
  static const StoreSpec& spec();
  // Opens (creating unless options.read_only) an env under options.dir and the store in it:
  // for a process that needs no other store (the CLI).
  static Result<std::unique_ptr<LmdbPolicyStore>> open(const LmdbOptions& options);
  // Opens the store in the env this process already has open (LMDB: one env per state_dir
  // per process), shared with the other stores (TLS-RPT counts, report state).
  static Result<std::unique_ptr<LmdbPolicyStore>> attach(std::shared_ptr<LmdbEnv> env);

  // Keys must be 1 to 255 bytes (normalised domains); anything else is InvalidInput.
  Result<bool> get(std::string_view domain, PolicyRecord& out) override;
  // TooLarge when the record exceeds the codec bounds or the map is at max_map_size;
  // Io when read-only.
  Result<void> put(std::string_view domain, const PolicyRecord& record) override;
  Result<bool> erase(std::string_view domain) override;
  Result<void> eraseAll() override;
  // Runs in its own read snapshot; undecodable records are skipped. The visitor may call
  // get() and put(), but a put() that needs the map to grow fails while forEach runs.
  Result<void> forEach(const Visitor& visit) override;
  Result<void> recordUsage(const std::vector<std::pair<std::string, UnixSeconds>>& stamps) override;

  LmdbEnv& env() { return *env_; }
  const std::shared_ptr<LmdbEnv>& sharedEnv() const { return env_; }
  MDB_dbi dbi() const { return dbi_; }

 private:
  LmdbPolicyStore(std::shared_ptr<LmdbEnv> env, MDB_dbi dbi) : env_(std::move(env)), dbi_(dbi) {}
  void warnUndecodable(std::string_view domain, const Error& error);

  std::shared_ptr<LmdbEnv> env_;
  MDB_dbi dbi_;
  ReadTxn read_;                        // get()'s reusable txn; declared after env_ on purpose
  std::unordered_set<std::string> warned_;  // domains already warned about (bounded)
  PolicyRecord scratch_;                // recordUsage()'s decode buffer
};

}  // namespace mtasts::cache
