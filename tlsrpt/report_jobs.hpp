// The report sender's units of work that touch the stores: planning the days, finding the
// next domain of a day, building and storing one report, claiming due deliveries (with the
// report and, for mail, the composed message), storing an outcome. Each runs off the event
// loop on the sender's TaskRunner (report_sender.hpp) and returns plain values; none keeps
// more than one report in memory. Errors are carried in the results (the loop logs them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/report_builder.hpp"
#include "tlsrpt/report_mailer.hpp"
#include "tlsrpt/report_retry.hpp"
#include "tlsrpt/report_state_store.hpp"

namespace mtasts::tlsrpt {

struct PlanInput {
  UnixSeconds now = 0;
  int catch_up_days = 3;        // days before today still reported automatically
  int keep_state_days = 31;     // state of older days is deleted whatever it holds
  UnixSeconds max_delay = 0;    // tlsrpt_report_delay
  bool sweep = false;           // also delete the state of days that are finished and gone
  std::function<std::uint64_t()> random;
};
struct PlanResult {
  std::vector<std::pair<UtcDay, DayPlan>> open;  // days not built yet, ascending
  std::size_t swept_days = 0;
  std::optional<Error> error;
};
PlanResult planDays(DayStore& days, ReportStateStore& state, const PlanInput& in);

struct NextDomain {
  std::optional<std::string> domain;   // nullopt: the day is done
  std::optional<std::string> carried;  // the record its entries carried
  std::string cursor;                  // the last domain skipped or returned
  std::uint64_t existing = 0;          // domains skipped because their report is stored
  bool more = false;                   // stopped at the skip bound: call again from cursor
  std::optional<Error> error;
};
// The next domain after `cursor` that has entries and (with `state`) no stored report yet;
// skips at most a bounded number of domains with stored reports per call.
NextDomain findNextDomain(DayStore& days, ReportStateStore* state, UtcDay day, const std::string& cursor);

// Where the report goes: the record found, or a lookup still to make (it failed for now).
struct RuaDecision {
  std::optional<TlsRptRecord> record;  // nullopt: store a pending lookup
};
struct StoreOutcome {
  bool stored = false;   // this call stored the report
  bool existed = false;  // a report was stored before (by another run): it stands
  std::string report_id;
  std::size_t destinations = 0;
  std::optional<Error> error;  // the report could not be built or stored
};
// Builds the report of (day, domain) from the day store and stores it with its delivery
// records; `plan` (the daemon's cursor, moved to `domain`) is stored in the same txn.
StoreOutcome buildAndStore(DayStore& days, ReportStateStore& state, UtcDay day, const std::string& domain,
                           const RuaDecision& rua, const ReporterIdentity& who, const std::string& token,
                           UnixSeconds now, const DayPlan* plan);

struct ClaimedDelivery {
  DeliveryRecord record;
  std::shared_ptr<const StoredReport> report;
  std::string message;                 // mailto: the composed, signed message
  std::optional<Error> compose_error;  // mailto: it cannot be composed (never will be)
};
struct ClaimInput {
  std::string prefix;  // which delivery records (DeliveryKeyPrefix, a day's, a domain's)
  std::string after;   // scan cursor: start after this key, wrap around once
  std::size_t slots = 1;
  ClaimRules rules;
  const MailIdentity* mail = nullptr;
};
struct ClaimResult {
  std::vector<ClaimedDelivery> items;
  std::string cursor;                     // the last key looked at
  bool full_cycle = false;                // every record was looked at without filling the slots
  std::optional<UnixSeconds> next_due;    // full_cycle: the earliest pending next_attempt
  std::size_t open = 0;                   // full_cycle: pending or claimed records seen
  std::optional<Error> error;
};
ClaimResult claimDue(ReportStateStore& state, const ClaimInput& in);

struct FinishResult {
  bool ours = false;  // false: another process took the claim over; nothing was written
  std::optional<Error> error;
};
FinishResult finishDelivery(ReportStateStore& state, const DeliveryRecord& record, std::uint64_t owner,
                            const Delivery& outcome, const std::vector<std::pair<int, Delivery>>& destinations);

}  // namespace mtasts::tlsrpt
