#include "tlsrpt/day_store.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

#include "common/log.hpp"
#include "tlsrpt/day_record_codec.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::string_view CountersKey = "collector";
constexpr std::string_view PositionKeyPrefix = "position:";
constexpr std::size_t SweepBatch = 2000;
constexpr std::size_t MaxStoredDetailRows = 1000;  // MaxDayRecordRows less the overflow rows
const UtcDay FirstKeyDay{0};                       // 1970-01-01
const UtcDay LastKeyDay{2'932'896};                // 9999-12-31

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

std::string positionKey(std::string_view name) { return std::string(PositionKeyPrefix) + std::string(name); }

bool sameIdentity(const DayEntry& a, const DayEntry& b) {
  return a.tlsrpt_record == b.tlsrpt_record && a.counts.policy == b.counts.policy;
}

std::uint64_t sessionsOf(const DayEntry& e) {
  return saturatingAdd(e.counts.successful_sessions, e.counts.failed_sessions);
}

}  // namespace

const cache::StoreSpec& DayStore::daysSpec() {
  static const cache::StoreSpec spec{"tlsrpt_days", 1, {}};
  return spec;
}

const cache::StoreSpec& DayStore::stateSpec() {
  static const cache::StoreSpec spec{"tlsrpt_state", 1, {}};
  return spec;
}

Result<std::unique_ptr<DayStore>> DayStore::attach(std::shared_ptr<cache::LmdbEnv> env) {
  auto days = env->openStore(daysSpec());
  if (!days) return Unexpected{std::move(days).error()};
  auto state = env->openStore(stateSpec());
  if (!state) return Unexpected{std::move(state).error()};
  return std::unique_ptr<DayStore>(new DayStore(std::move(env), *days, *state));
}

Result<void> DayStore::mergeOne(cache::WriteTxn& txn, const DayEntry& entry, const DayLimits& limits,
                                CommitResult& result) {
  if (entry.day < FirstKeyDay || entry.day > LastKeyDay || !checkDayRecordEncodable(entry)) {
    result.dropped = saturatingAdd(result.dropped, sessionsOf(entry));
    return {};
  }
  const std::size_t max_rows = std::min(limits.max_detail_rows, MaxStoredDetailRows);
  const EntryDigest digest = entryDigest(entry.counts.policy, entry.tlsrpt_record);
  DayEntry stored;
  for (int probe = 0; probe <= MaxKeyProbe; ++probe) {
    const std::string key = dayEntryKey(entry.day, entry.domain, digest, probe);
    std::string_view bytes;
    auto found = txn.get(days_, key, bytes);
    if (!found) return Unexpected{std::move(found).error()};
    std::string value;
    if (!*found) {
      value = encodeDayRecord(entry);
    } else if (auto decoded = decodeDayRecord(bytes, stored); !decoded) {
      // Ours to take: nothing readable is lost by overwriting what cannot be read.
      ++result.replaced;
      logger()->error("undecodable day record replaced key={} reason={}", escapeForLog(key),
                      escapeForLog(decoded.error().detail));
      value = encodeDayRecord(entry);
    } else if (sameIdentity(stored, entry)) {
      result.overflowed = saturatingAdd(result.overflowed, mergeDayEntry(stored, entry, max_rows));
      value = encodeDayRecord(stored);
    } else {
      continue;  // another descriptor has this digest: try the next key
    }
    ++result.records;
    return txn.put(days_, key, value);
  }
  result.dropped = saturatingAdd(result.dropped, sessionsOf(entry));
  return {};
}

Result<CommitResult> DayStore::commit(const DayDelta& delta, const CollectorCounters* counters,
                                      const DayLimits& limits) {
  CommitResult result;
  auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
    result = CommitResult{};  // the body may run again after the map grew
    for (const auto& entry : delta.entries) {
      if (auto r = mergeOne(txn, entry, limits, result); !r) return r;
    }
    for (const auto& [name, bytes] : delta.positions) {
      if (!isPositionName(name) || bytes.size() > MaxPositionBytes) continue;  // setPosition refuses them
      if (auto r = txn.put(state_, positionKey(name), bytes); !r) return r;
    }
    if (counters != nullptr) {
      if (auto r = txn.put(state_, CountersKey, encodeCounters(*counters)); !r) return r;
    }
    return {};
  });
  if (!written) return Unexpected{std::move(written).error()};
  if (result.dropped > 0) {
    logger()->error("sessions not stored: no free key or over the record bounds sessions={}", result.dropped);
  }
  return result;
}

Result<std::vector<UtcDay>> DayStore::days() {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn.raw(), days_, &raw); rc != MDB_SUCCESS) {
    return Unexpected{cache::lmdbError(rc, "tlsrpt_days: cannot open a cursor")};
  }
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> cursor(raw, mdb_cursor_close);
  std::vector<UtcDay> out;
  MDB_val key{0, nullptr};
  MDB_val value{0, nullptr};
  std::string seek;
  // One step per day: after a day, jump past all its keys ("YYYY-MM-DD " < "YYYY-MM-DD!").
  int rc = mdb_cursor_get(raw, &key, &value, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    std::string_view k(static_cast<const char*>(key.mv_data), key.mv_size);
    auto day = parseUtcDay(k.substr(0, 10));
    if (day && (out.empty() || out.back() != *day)) out.push_back(*day);
    seek = std::string(k.substr(0, 10)) + '!';
    key = MDB_val{seek.size(), seek.data()};
    rc = mdb_cursor_get(raw, &key, &value, MDB_SET_RANGE);
  }
  if (rc != MDB_NOTFOUND) return Unexpected{cache::lmdbError(rc, "tlsrpt_days: cannot iterate")};
  return out;
}

Result<std::vector<DayEntry>> DayStore::scanEntries(std::string_view prefix) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::vector<DayEntry> out;
  std::size_t undecodable = 0;
  auto scanned = cache::scanPrefix(txn.raw(), days_, prefix, [&](std::string_view key, std::string_view bytes) {
    auto parsed = parseDayEntryKey(key);
    DayEntry entry;
    if (!parsed || !decodeDayRecord(bytes, entry)) {
      ++undecodable;
      return true;
    }
    entry.day = parsed->day;
    entry.domain = std::move(parsed->domain);
    out.push_back(std::move(entry));
    return true;
  });
  if (!scanned) return Unexpected{std::move(scanned).error()};
  if (undecodable > 0) logger()->warn("undecodable day records skipped prefix={} count={}", prefix, undecodable);
  return out;
}

Result<std::vector<DayEntry>> DayStore::entries(UtcDay day) { return scanEntries(dayKeyPrefix(day)); }

Result<std::vector<DayEntry>> DayStore::entries(UtcDay day, std::string_view domain) {
  return scanEntries(dayDomainKeyPrefix(day, domain));
}

Result<std::optional<std::string>> DayStore::nextDomain(UtcDay day, std::string_view after) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn.raw(), days_, &raw); rc != MDB_SUCCESS) {
    return Unexpected{cache::lmdbError(rc, "tlsrpt_days: cannot open a cursor")};
  }
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> cursor(raw, mdb_cursor_close);
  const std::string prefix = dayKeyPrefix(day);
  // "<day> <after>!" sorts after every key of `after` (' ' < '!' < any hostname byte).
  std::string seek = after.empty() ? prefix : dayDomainKeyPrefix(day, after);
  if (!after.empty()) seek.back() = '!';
  MDB_val key{seek.size(), seek.data()};
  MDB_val value{0, nullptr};
  for (int rc = mdb_cursor_get(raw, &key, &value, MDB_SET_RANGE); rc != MDB_NOTFOUND;
       rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
    if (rc != MDB_SUCCESS) return Unexpected{cache::lmdbError(rc, "tlsrpt_days: cannot iterate")};
    const std::string_view k(static_cast<const char*>(key.mv_data), key.mv_size);
    if (!k.starts_with(prefix)) break;
    if (auto parsed = parseDayEntryKey(k)) return std::optional<std::string>{std::move(parsed->domain)};
  }
  return std::optional<std::string>{};
}

Result<std::optional<std::string>> DayStore::position(std::string_view name) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::string_view bytes;
  auto found = txn.get(state_, positionKey(name), bytes);
  if (!found) return Unexpected{std::move(found).error()};
  if (!*found) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(bytes)};
}

Result<std::optional<CollectorCounters>> DayStore::counters() {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::string_view bytes;
  auto found = txn.get(state_, CountersKey, bytes);
  if (!found) return Unexpected{std::move(found).error()};
  if (!*found) return std::optional<CollectorCounters>{};
  CollectorCounters out;
  if (auto decoded = decodeCounters(bytes, out); !decoded) return Unexpected{std::move(decoded).error()};
  return std::optional<CollectorCounters>{std::move(out)};
}

Result<std::size_t> DayStore::sweep(UtcDay oldest_kept) {
  const std::string end = dayKeyPrefix(oldest_kept);
  std::size_t deleted = 0;
  for (;;) {
    std::vector<std::string> keys;
    {
      cache::ReadTxn txn;
      if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
      auto scanned = cache::scanPrefix(txn.raw(), days_, "", [&](std::string_view key, std::string_view) {
        if (key >= end) return false;
        keys.emplace_back(key);
        return keys.size() < SweepBatch;
      });
      if (!scanned) return Unexpected{std::move(scanned).error()};
    }
    if (keys.empty()) return deleted;
    auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
      for (const auto& key : keys) {
        if (auto r = txn.del(days_, key); !r) return Unexpected{std::move(r).error()};
      }
      return {};
    });
    if (!written) return Unexpected{std::move(written).error()};
    deleted += keys.size();
  }
}

}  // namespace mtasts::tlsrpt
