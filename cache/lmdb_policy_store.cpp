#include "cache/lmdb_policy_store.hpp"

#include "cache/record_codec.hpp"
#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

namespace mtasts::cache {
namespace {

constexpr std::size_t MaxKeyBytes = 255;      // LMDB allows 511; a domain is at most 253
constexpr std::size_t MaxWarnedDomains = 1024;  // bounds the "warned once" memory

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("cache");
  return l;
}

Result<void> checkKey(std::string_view domain) {
  if (domain.empty() || domain.size() > MaxKeyBytes) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("policy store key must be 1 to {} bytes, got {}", MaxKeyBytes,
                            domain.size()));
  }
  return {};
}

// Resets get()'s read txn on every path out, so the snapshot is never held between calls.
struct ResetOnExit {
  ReadTxn& txn;
  ~ResetOnExit() { txn.reset(); }
};

}  // namespace

const StoreSpec& LmdbPolicyStore::spec() {
  // No migration: there is no older version than 1 (a pre-schema env is dropped whole).
  static const StoreSpec spec{"policies", 1, {}};
  return spec;
}

Result<std::unique_ptr<LmdbPolicyStore>> LmdbPolicyStore::open(const LmdbOptions& options) {
  auto env = LmdbEnv::open(options);
  if (!env) return Unexpected{std::move(env).error()};
  return attach(std::move(*env));
}

Result<std::unique_ptr<LmdbPolicyStore>> LmdbPolicyStore::attach(std::shared_ptr<LmdbEnv> env) {
  auto dbi = env->openStore(spec());
  if (!dbi) return Unexpected{std::move(dbi).error()};
  return std::unique_ptr<LmdbPolicyStore>(new LmdbPolicyStore(std::move(env), *dbi));
}

void LmdbPolicyStore::warnUndecodable(std::string_view domain, const Error& error) {
  if (warned_.size() >= MaxWarnedDomains || !warned_.emplace(domain).second) return;
  logger()->warn("undecodable record treated as absent domain={} reason={}",
                 escapeForLog(domain), escapeForLog(error.detail));
}

Result<bool> LmdbPolicyStore::get(std::string_view domain, PolicyRecord& out) {
  if (auto r = checkKey(domain); !r) return Unexpected{std::move(r).error()};
  if (auto r = env_->beginRead(read_); !r) return Unexpected{std::move(r).error()};
  ResetOnExit reset{read_};
  std::string_view bytes;
  auto found = read_.get(dbi_, domain, bytes);
  if (!found || !*found) return found;
  // Decoded straight from the map into `out`: no copy of the value, no allocation when
  // out's strings and vectors are already big enough.
  if (auto decoded = decodeRecord(bytes, out); !decoded) {
    warnUndecodable(domain, decoded.error());
    return false;
  }
  return true;
}

Result<void> LmdbPolicyStore::put(std::string_view domain, const PolicyRecord& record) {
  if (auto r = checkKey(domain); !r) return r;
  if (auto r = checkEncodable(record); !r) return r;
  std::string encoded = encodeRecord(record);
  auto result = env_->write([&](WriteTxn& txn) { return txn.put(dbi_, domain, encoded); });
  if (result && !warned_.empty()) warned_.erase(std::string(domain));
  return result;
}

Result<bool> LmdbPolicyStore::erase(std::string_view domain) {
  if (auto r = checkKey(domain); !r) return Unexpected{std::move(r).error()};
  bool existed = false;
  auto result = env_->write([&](WriteTxn& txn) -> Result<void> {
    auto deleted = txn.del(dbi_, domain);
    if (!deleted) return Unexpected{std::move(deleted).error()};
    existed = *deleted;
    return {};
  });
  if (!result) return Unexpected{std::move(result).error()};
  return existed;
}

Result<void> LmdbPolicyStore::eraseAll() {
  return env_->write([&](WriteTxn& txn) { return txn.clear(dbi_); });
}

Result<void> LmdbPolicyStore::forEach(const Visitor& visit) {
  ReadTxn txn;  // its own snapshot: the visitor may call get(), which resets read_
  if (auto r = env_->beginRead(txn); !r) return r;
  PolicyRecord record;
  auto scanned = scanPrefix(txn.raw(), dbi_, "", [&](std::string_view domain, std::string_view bytes) {
    if (auto decoded = decodeRecord(bytes, record); !decoded) {
      warnUndecodable(domain, decoded.error());
      return true;
    }
    return visit(domain, record);
  });
  if (!scanned) {
    Error error = std::move(scanned).error();
    error.detail = "policies: " + error.detail;
    return Unexpected{std::move(error)};
  }
  return {};
}

Result<void> LmdbPolicyStore::recordUsage(
    const std::vector<std::pair<std::string, UnixSeconds>>& stamps) {
  if (stamps.empty()) return {};
  std::string encoded;
  return env_->write([&](WriteTxn& txn) -> Result<void> {
    for (const auto& [domain, when] : stamps) {
      if (!checkKey(domain)) continue;
      std::string_view bytes;
      auto found = txn.get(dbi_, domain, bytes);
      if (!found) return Unexpected{std::move(found).error()};
      // Missing: skipped. Undecodable: left for the next put() to replace.
      if (!*found || !decodeRecord(bytes, scratch_)) continue;
      if (when <= scratch_.last_used) continue;
      scratch_.last_used = when;
      encoded = encodeRecord(scratch_);
      if (auto r = txn.put(dbi_, domain, encoded); !r) return r;
    }
    return {};
  });
}

}  // namespace mtasts::cache
