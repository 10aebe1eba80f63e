#include "tlsrpt/report_state_store.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t DeleteBatch = 2000;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

MDB_val toVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view fromVal(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

struct CursorCloser {
  void operator()(MDB_cursor* c) const { mdb_cursor_close(c); }
};

// Keys > after (or >= prefix when after is empty) that start with prefix, in order.
Result<void> scanAfter(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, std::string_view after,
                       const std::function<bool(std::string_view, std::string_view)>& visit) {
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &raw); rc != MDB_SUCCESS) {
    return Unexpected{cache::lmdbError(rc, "tlsrpt_reports: cannot open a cursor")};
  }
  std::unique_ptr<MDB_cursor, CursorCloser> cursor(raw);
  const std::string_view start = after > prefix ? after : prefix;
  MDB_val key{0, nullptr};
  MDB_val value{0, nullptr};
  int rc = MDB_NOTFOUND;
  if (start.empty()) {
    rc = mdb_cursor_get(raw, &key, &value, MDB_FIRST);
  } else {
    key = toVal(start);
    rc = mdb_cursor_get(raw, &key, &value, MDB_SET_RANGE);
  }
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
    const std::string_view k = fromVal(key);
    if (!after.empty() && k <= after) continue;
    if (k.substr(0, prefix.size()) != prefix) {
      if (k > prefix) return {};
      continue;
    }
    if (!visit(k, fromVal(value))) return {};
  }
  if (rc != MDB_NOTFOUND) return Unexpected{cache::lmdbError(rc, "tlsrpt_reports: cannot iterate")};
  return {};
}

}  // namespace

const cache::StoreSpec& ReportStateStore::spec() {
  static const cache::StoreSpec spec{"tlsrpt_reports", 1, {}};
  return spec;
}

Result<std::unique_ptr<ReportStateStore>> ReportStateStore::attach(std::shared_ptr<cache::LmdbEnv> env) {
  auto dbi = env->openStore(spec());
  if (!dbi) return Unexpected{std::move(dbi).error()};
  return std::unique_ptr<ReportStateStore>(new ReportStateStore(std::move(env), *dbi));
}

Result<std::optional<DayPlan>> ReportStateStore::dayPlan(UtcDay day) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::string_view bytes;
  auto found = txn.get(dbi_, dayPlanKey(day), bytes);
  if (!found) return Unexpected{std::move(found).error()};
  if (!*found) return std::optional<DayPlan>{};
  auto plan = decodeDayPlan(bytes);
  if (!plan) {
    logger()->error("undecodable day plan replaced day={} reason={}", formatDate(day),
                    escapeForLog(plan.error().detail));
    return std::optional<DayPlan>{};
  }
  return std::optional<DayPlan>{std::move(*plan)};
}

Result<DayPlan> ReportStateStore::ensureDayPlan(UtcDay day, const DayPlan& fresh) {
  DayPlan out = fresh;
  const std::string key = dayPlanKey(day);
  auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
    out = fresh;
    std::string_view bytes;
    auto found = txn.get(dbi_, key, bytes);
    if (!found) return Unexpected{std::move(found).error()};
    if (*found) {
      if (auto stored = decodeDayPlan(bytes)) {
        out = std::move(*stored);
        return {};
      }
    }
    return txn.put(dbi_, key, encodeDayPlan(fresh));
  });
  if (!written) return Unexpected{std::move(written).error()};
  return out;
}

Result<void> ReportStateStore::putDayPlan(UtcDay day, const DayPlan& plan) {
  return env_->write([&](cache::WriteTxn& txn) { return txn.put(dbi_, dayPlanKey(day), encodeDayPlan(plan)); });
}

Result<std::optional<StoredReport>> ReportStateStore::report(UtcDay day, std::string_view domain) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::string_view bytes;
  auto found = txn.get(dbi_, reportKey(day, domain), bytes);
  if (!found) return Unexpected{std::move(found).error()};
  if (!*found) return std::optional<StoredReport>{};
  auto report = decodeStoredReport(bytes);
  if (!report) {
    return fail(ErrorCode::Io, fmt::format("stored report {} {} is unreadable: {}", formatDate(day), domain,
                                           report.error().detail));
  }
  return std::optional<StoredReport>{std::move(*report)};
}

Result<bool> ReportStateStore::hasReport(UtcDay day, std::string_view domain) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::string_view bytes;
  return txn.get(dbi_, reportKey(day, domain), bytes);
}

Result<bool> ReportStateStore::storeReport(UtcDay day, std::string_view domain, const StoredReport& report,
                                           const std::vector<std::pair<int, Delivery>>& deliveries,
                                           const DayPlan* plan) {
  auto encoded = encodeStoredReport(report);
  if (!encoded) return Unexpected{std::move(encoded).error()};
  std::vector<std::pair<std::string, std::string>> records;
  for (const auto& [index, delivery] : deliveries) {
    auto bytes = encodeDelivery(delivery);
    if (!bytes) return Unexpected{std::move(bytes).error()};
    records.emplace_back(deliveryKey(day, domain, index), std::move(*bytes));
  }
  const std::string key = reportKey(day, domain);
  bool stored = false;
  auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
    stored = false;
    std::string_view existing;
    auto found = txn.get(dbi_, key, existing);
    if (!found) return Unexpected{std::move(found).error()};
    if (!*found) {
      if (auto r = txn.put(dbi_, key, *encoded); !r) return r;
      for (const auto& [k, v] : records) {
        if (auto r = txn.put(dbi_, k, v); !r) return r;
      }
      stored = true;
    }
    if (plan != nullptr) return txn.put(dbi_, dayPlanKey(day), encodeDayPlan(*plan));
    return {};
  });
  if (!written) return Unexpected{std::move(written).error()};
  return stored;
}

Result<void> ReportStateStore::scanDeliveries(std::string_view prefix, std::string_view after,
                                              const DeliveryVisitor& visit) {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::size_t undecodable = 0;
  auto scanned = scanAfter(txn.raw(), dbi_, prefix, after, [&](std::string_view key, std::string_view bytes) {
    auto where = parseStateKey(key);
    auto delivery = decodeDelivery(bytes);
    if (!where || where->kind != StateKey::Kind::Delivery || !delivery) {
      ++undecodable;
      return true;
    }
    return visit(DeliveryRecord{std::string(key), std::move(*where), std::move(*delivery)});
  });
  if (undecodable > 0) logger()->warn("undecodable delivery records skipped count={}", undecodable);
  return scanned;
}

Result<std::vector<DeliveryRecord>> ReportStateStore::deliveries(std::string_view prefix) {
  std::vector<DeliveryRecord> out;
  auto scanned = scanDeliveries(prefix, "", [&](DeliveryRecord&& r) {
    out.push_back(std::move(r));
    return true;
  });
  if (!scanned) return Unexpected{std::move(scanned).error()};
  return out;
}

Result<std::vector<DeliveryRecord>> ReportStateStore::claim(const std::vector<std::string>& keys,
                                                            const ClaimRules& rules) {
  std::vector<DeliveryRecord> claimed;
  auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
    claimed.clear();
    for (const auto& key : keys) {
      std::string_view bytes;
      auto found = txn.get(dbi_, key, bytes);
      if (!found) return Unexpected{std::move(found).error()};
      if (!*found) continue;
      auto delivery = decodeDelivery(bytes);
      auto where = parseStateKey(key);
      if (!delivery || !where || !claimable(*delivery, rules)) continue;
      applyClaim(*delivery, rules);
      auto encoded = encodeDelivery(*delivery);
      if (!encoded) continue;
      if (auto r = txn.put(dbi_, key, *encoded); !r) return r;
      claimed.push_back(DeliveryRecord{key, std::move(*where), std::move(*delivery)});
    }
    return {};
  });
  if (!written) return Unexpected{std::move(written).error()};
  return claimed;
}

Result<bool> ReportStateStore::finishWith(std::string_view key, std::uint64_t owner, const Delivery& outcome,
                                          const std::vector<std::pair<int, Delivery>>* destinations) {
  auto encoded = encodeDelivery(outcome);
  if (!encoded) return Unexpected{std::move(encoded).error()};
  auto where = parseStateKey(key);
  if (!where) return Unexpected{std::move(where).error()};
  std::vector<std::pair<std::string, std::string>> added;
  if (destinations != nullptr) {
    for (const auto& [index, d] : *destinations) {
      auto bytes = encodeDelivery(d);
      if (!bytes) return Unexpected{std::move(bytes).error()};
      added.emplace_back(deliveryKey(where->day, where->domain, index), std::move(*bytes));
    }
  }
  bool ours = false;
  auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
    ours = false;
    std::string_view bytes;
    auto found = txn.get(dbi_, key, bytes);
    if (!found) return Unexpected{std::move(found).error()};
    if (!*found) return {};
    auto current = decodeDelivery(bytes);
    if (!current || current->state != DeliveryState::Claimed || current->claim_owner != owner) return {};
    ours = true;
    if (auto r = txn.put(dbi_, key, *encoded); !r) return r;
    for (const auto& [k, v] : added) {
      std::string_view existing;
      auto there = txn.get(dbi_, k, existing);
      if (!there) return Unexpected{std::move(there).error()};
      if (*there) continue;
      if (auto r = txn.put(dbi_, k, v); !r) return r;
    }
    return {};
  });
  if (!written) return Unexpected{std::move(written).error()};
  return ours;
}

Result<bool> ReportStateStore::finish(std::string_view key, std::uint64_t owner, const Delivery& outcome) {
  return finishWith(key, owner, outcome, nullptr);
}

Result<bool> ReportStateStore::resolveLookup(std::string_view key, std::uint64_t owner, const Delivery& outcome,
                                             const std::vector<std::pair<int, Delivery>>& destinations) {
  return finishWith(key, owner, outcome, &destinations);
}

Result<std::vector<UtcDay>> ReportStateStore::days() {
  cache::ReadTxn txn;
  if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
  std::vector<UtcDay> out;
  auto scanned = cache::scanPrefix(txn.raw(), dbi_, "", [&](std::string_view key, std::string_view) {
    if (auto where = parseStateKey(key)) out.push_back(where->day);
    return true;
  });
  if (!scanned) return Unexpected{std::move(scanned).error()};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::size_t> ReportStateStore::deleteDay(UtcDay day) {
  const std::string date = formatDate(day);
  std::size_t deleted = 0;
  for (const std::string& prefix : {"day " + date, "rep " + date + " ", "dst " + date + " "}) {
    for (;;) {
      std::vector<std::string> keys;
      {
        cache::ReadTxn txn;
        if (auto r = env_->beginRead(txn); !r) return Unexpected{std::move(r).error()};
        auto scanned = cache::scanPrefix(txn.raw(), dbi_, prefix, [&](std::string_view key, std::string_view) {
          keys.emplace_back(key);
          return keys.size() < DeleteBatch;
        });
        if (!scanned) return Unexpected{std::move(scanned).error()};
      }
      if (keys.empty()) break;
      auto written = env_->write([&](cache::WriteTxn& txn) -> Result<void> {
        for (const auto& key : keys) {
          if (auto r = txn.del(dbi_, key); !r) return Unexpected{std::move(r).error()};
        }
        return {};
      });
      if (!written) return Unexpected{std::move(written).error()};
      deleted += keys.size();
    }
  }
  return deleted;
}

}  // namespace mtasts::tlsrpt
