// ReportStateStore: the report sender's state in the process's one LMDB env, in its own
// named store "tlsrpt_reports" (StoreSpec version 1; records in report_state_codec.hpp): per
// day the build plan, per (day, domain) the report made once, per (day, domain, rua) its
// delivery state. Shared by the daemon and a manual `mtastsd --report` next to it: a report
// is inserted only where none exists (the first one stands), and a delivery is sent only by
// the process run that claimed it in a committed txn. Every method is one txn; call them off
// the event loop (a write waits for every other writer of the env and for its fdatasync).
// Errors: Result with lmdbError()'s codes; undecodable records are skipped and logged.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/lmdb_env.hpp"
#include "tlsrpt/report_retry.hpp"
#include "tlsrpt/report_state_codec.hpp"

namespace mtasts::tlsrpt {

struct DeliveryRecord {
  std::string key;
  StateKey where;  // day, domain, index
  Delivery delivery;
};

class ReportStateStore {
 public:
  static const cache::StoreSpec& spec();
  // Opens the store in `env` (at startup, before other threads use the env). Read-only and
  // not yet created: NotFound.
  static Result<std::unique_ptr<ReportStateStore>> attach(std::shared_ptr<cache::LmdbEnv> env);

  Result<std::optional<DayPlan>> dayPlan(UtcDay day);
  // The stored plan, or `fresh` after storing it when there was none.
  Result<DayPlan> ensureDayPlan(UtcDay day, const DayPlan& fresh);
  Result<void> putDayPlan(UtcDay day, const DayPlan& plan);

  Result<std::optional<StoredReport>> report(UtcDay day, std::string_view domain);
  Result<bool> hasReport(UtcDay day, std::string_view domain);

  // One txn: unless a report of (day, domain) exists, stores `report` and `deliveries`
  // (index, record); then `plan` when given. Returns whether this call stored the report.
  Result<bool> storeReport(UtcDay day, std::string_view domain, const StoredReport& report,
                           const std::vector<std::pair<int, Delivery>>& deliveries, const DayPlan* plan);

  // Visits, in one snapshot and in key order, the delivery records whose key starts with
  // `prefix` (DeliveryKeyPrefix for all) and sorts after `after` ("" = from the start),
  // until `visit` returns false.
  using DeliveryVisitor = std::function<bool(DeliveryRecord&& record)>;
  Result<void> scanDeliveries(std::string_view prefix, std::string_view after, const DeliveryVisitor& visit);
  Result<std::vector<DeliveryRecord>> deliveries(std::string_view prefix);

  // One txn: each key whose record is still claimable() is claimed (applyClaim); returns the
  // records claimed, as stored.
  Result<std::vector<DeliveryRecord>> claim(const std::vector<std::string>& keys, const ClaimRules& rules);

  // Stores the outcome of a delivery this run claimed: true; false (nothing written) when
  // the record is no longer claimed by `owner` (another process judged the claim stale).
  Result<bool> finish(std::string_view key, std::uint64_t owner, const Delivery& outcome);
  // The same for a lookup, with the destinations it found (index >= 1, stored where absent),
  // in one txn.
  Result<bool> resolveLookup(std::string_view key, std::uint64_t owner, const Delivery& outcome,
                             const std::vector<std::pair<int, Delivery>>& destinations);

  // Days that hold records, ascending; and every record of one day deleted (a few txns).
  Result<std::vector<UtcDay>> days();
  Result<std::size_t> deleteDay(UtcDay day);

 private:
  ReportStateStore(std::shared_ptr<cache::LmdbEnv> env, MDB_dbi dbi) : env_(std::move(env)), dbi_(dbi) {}
  Result<bool> finishWith(std::string_view key, std::uint64_t owner, const Delivery& outcome,
                          const std::vector<std::pair<int, Delivery>>* destinations);

  std::shared_ptr<cache::LmdbEnv> env_;
  MDB_dbi dbi_;
};

}  // namespace mtasts::tlsrpt
