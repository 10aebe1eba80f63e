#include "daemon/cache_command.hpp"

#include "cache/lmdb_policy_store.hpp"
#include "cache/memory_policy_store.hpp"
#include "daemon/cli.hpp"
#include "postfix/socketmap.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <ctime>
#include <iostream>

namespace mtasts::daemon {
namespace {

std::string isoTime(UnixSeconds t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string kindName(const cache::PolicyRecord& r) {
  switch (r.kind) {
    case cache::EntryKind::Policy: return std::string(sts::modeName(r.policy.mode));
    case cache::EntryKind::NoPolicy: return "no-policy";
    case cache::EntryKind::LookupFailed: return "dns-failed";
  }
  return "unknown";
}

}  // namespace

std::string formatCacheDump(cache::PolicyStore& store, bool json, UnixSeconds now) {
  nlohmann::json array = nlohmann::json::array();
  std::string text;
  auto visited = store.forEach([&](std::string_view domain, const cache::PolicyRecord& r) {
    const bool valid = now < r.expires_at;
    if (json) {
      nlohmann::json j{{"domain", domain},
                       {"kind", kindName(r)},
                       {"id", r.txt_id},
                       {"fetched", isoTime(r.fetched_at)},
                       {"expires", isoTime(r.expires_at)},
                       {"valid", valid},
                       {"txt_checked", isoTime(r.txt_checked_at)},
                       {"last_used", isoTime(r.last_used)}};
      if (r.kind == cache::EntryKind::Policy) j["mx"] = r.policy.mx;
      if (r.last_failure) {
        j["last_failure"] = {{"time", isoTime(r.last_failure->at)},
                             {"result_type", tlsRptResultTypeName(r.last_failure->type)},
                             {"reason", r.last_failure->reason},
                             {"id", r.last_failure->txt_id}};
      }
      array.push_back(std::move(j));
    } else {
      text += fmt::format("{} mode={} id={} fetched={} expires={}{} last_used={}", domain, kindName(r),
                          r.txt_id.empty() ? "-" : r.txt_id, isoTime(r.fetched_at),
                          isoTime(r.expires_at), valid ? "" : " (expired)", isoTime(r.last_used));
      if (r.last_failure) {
        text += fmt::format(" last_failure={} type={} id={} reason=\"{}\"", isoTime(r.last_failure->at),
                            tlsRptResultTypeName(r.last_failure->type), r.last_failure->txt_id,
                            r.last_failure->reason);
      }
      text += "\n";
    }
    return true;
  });
  if (!visited) return "error: " + visited.error().detail + "\n";
  return json ? array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : text;
}

int runDump(const std::string& state_dir, bool json) {
  cache::LmdbOptions options;
  options.dir = state_dir;
  options.read_only = true;
  auto store = cache::LmdbPolicyStore::open(options);
  if (!store && store.error().code == ErrorCode::NotFound) {
    // The env exists but no process has opened the policy store in it yet: nothing cached.
    cache::MemoryPolicyStore empty;
    std::cout << formatCacheDump(empty, json, SystemClock().now());
    return 0;
  }
  if (!store) {
    std::cerr << "mtastsd: cannot open the cache: " << store.error().detail << "\n";
    return ExitCantCreate;
  }
  std::cout << formatCacheDump(**store, json, SystemClock().now());
  return 0;
}

int runPurge(const std::string& state_dir, const std::string& domain, bool all) {
  cache::LmdbOptions options;
  options.dir = state_dir;
  auto store = cache::LmdbPolicyStore::open(options);
  if (!store) {
    std::cerr << "mtastsd: cannot open the cache: " << store.error().detail << "\n";
    return ExitCantCreate;
  }
  if (all) {
    auto erased = (*store)->eraseAll();
    if (!erased) {
      std::cerr << "mtastsd: purge failed: " << erased.error().detail << "\n";
      return ExitOsError;
    }
    std::cout << "purged every entry\n";
    return 0;
  }
  const auto key = postfix::normalizePolicyKey(domain);
  const std::string name = key.domain().empty() ? domain : std::string(key.domain());
  auto erased = (*store)->erase(name);
  if (!erased) {
    std::cerr << "mtastsd: purge failed: " << erased.error().detail << "\n";
    return ExitOsError;
  }
  std::cout << (*erased ? "purged " : "not cached: ") << name << "\n";
  return *erased ? 0 : 1;
}

}  // namespace mtasts::daemon
