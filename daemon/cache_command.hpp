// `mtastsd --dump [--json]`, `--purge DOMAIN`, `--purge-all`: the policy cache for the
// operator. They open the state_dir's LMDB store next to a running daemon (LMDB allows
// several processes; --dump opens it read-only). Output formatting is pure for tests.
#pragma once

#include "cache/policy_store.hpp"

#include <string>

namespace mtasts::daemon {

// One line per entry (domain, kind/mode, id, fetched, expires, last used, last failure)
// or, with json, an array of objects. Times as UTC ISO 8601.
std::string formatCacheDump(cache::PolicyStore& store, bool json, UnixSeconds now);

int runDump(const std::string& state_dir, bool json);
int runPurge(const std::string& state_dir, const std::string& domain, bool all);

}  // namespace mtasts::daemon
