// PolicyStore: the narrow storage interface the policy service uses. LmdbPolicyStore
// (lmdb_policy_store.hpp) is the real one, MemoryPolicyStore the one for unit tests and
// for running without state. Keys are normalised policy domains (lower case, no dot).
// All calls are synchronous and bounded (LMDB is a memory map); errors come back as
// Result, never as exceptions. Single-threaded: called from the event loop only.
#pragma once

#include "cache/policy_record.hpp"
#include "common/result.hpp"

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::cache {

class PolicyStore {
 public:
  using Visitor = std::function<bool(std::string_view domain, const PolicyRecord&)>;
  virtual ~PolicyStore() = default;

  // true with `out` filled when present; false when absent. A record that fails to
  // decode counts as absent (logged once). `out` is reused so the hot path need not
  // allocate when capacities suffice.
  virtual Result<bool> get(std::string_view domain, PolicyRecord& out) = 0;
  virtual Result<void> put(std::string_view domain, const PolicyRecord& record) = 0;
  virtual Result<bool> erase(std::string_view domain) = 0;  // true if it existed
  virtual Result<void> eraseAll() = 0;
  // Visits every entry in key order until the visitor returns false.
  virtual Result<void> forEach(const Visitor& visit) = 0;
  // Writes a batch of last_used stamps in one transaction; missing domains are skipped.
  virtual Result<void> recordUsage(const std::vector<std::pair<std::string, UnixSeconds>>& stamps) = 0;
};

}  // namespace mtasts::cache
