#include "tlsrpt/report_jobs.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <map>

namespace mtasts::tlsrpt {
namespace {

// Domains with a stored report skipped per findNextDomain() call: bounds one job's time.
constexpr int MaxSkipsPerCall = 256;

std::optional<Error> errorOf(const Error& e, std::string_view what) {
  return Error{e.code, std::string(what) + ": " + e.detail};
}

bool isOpen(const Delivery& d) { return d.state == DeliveryState::Pending || d.state == DeliveryState::Claimed; }

}  // namespace

PlanResult planDays(DayStore& days, ReportStateStore& state, const PlanInput& in) {
  PlanResult out;
  const UtcDay today = utcDayOf(in.now);
  auto count_days = days.days();
  if (!count_days) {
    out.error = errorOf(count_days.error(), "day store");
    return out;
  }
  for (const UtcDay day : *count_days) {
    if (day >= today || day.days < today.days - in.catch_up_days) continue;
    auto stored = state.dayPlan(day);
    if (!stored) {
      out.error = errorOf(stored.error(), "report state");
      return out;
    }
    DayPlan plan;
    if (*stored) {
      plan = **stored;
    } else {
      DayPlan fresh;
      const std::uint64_t spread = static_cast<std::uint64_t>(std::max<UnixSeconds>(in.max_delay, 0)) + 1;
      fresh.due_at = reportDueAt(day, static_cast<UnixSeconds>(in.random() % spread));
      auto ensured = state.ensureDayPlan(day, fresh);
      if (!ensured) {
        out.error = errorOf(ensured.error(), "report state");
        return out;
      }
      plan = std::move(*ensured);
    }
    if (!plan.built) out.open.emplace_back(day, std::move(plan));
  }
  if (!in.sweep) return out;
  auto state_days = state.days();
  if (!state_days) {
    out.error = errorOf(state_days.error(), "report state");
    return out;
  }
  for (const UtcDay day : *state_days) {
    if (day.days >= today.days - 1) continue;
    const bool expired = day.days < today.days - in.keep_state_days;
    const bool counted = std::binary_search(count_days->begin(), count_days->end(), day);
    if (!expired) {
      if (counted) continue;  // a manual --report of the day must find its report
      auto open = state.deliveries(deliveryDayPrefix(day));
      if (!open) continue;
      if (std::any_of(open->begin(), open->end(), [](const DeliveryRecord& r) { return isOpen(r.delivery); })) continue;
    }
    if (auto deleted = state.deleteDay(day); deleted) ++out.swept_days;
  }
  return out;
}

NextDomain findNextDomain(DayStore& days, ReportStateStore* state, UtcDay day, const std::string& cursor) {
  NextDomain out;
  out.cursor = cursor;
  for (int skips = 0; skips <= MaxSkipsPerCall; ++skips) {
    auto next = days.nextDomain(day, out.cursor);
    if (!next) {
      out.error = errorOf(next.error(), "day store");
      return out;
    }
    if (!*next) return out;  // the day is done
    out.cursor = **next;
    if (state != nullptr) {
      auto has = state->hasReport(day, out.cursor);
      if (!has) {
        out.error = errorOf(has.error(), "report state");
        return out;
      }
      if (*has) {
        ++out.existing;
        continue;
      }
    }
    auto entries = days.entries(day, out.cursor);
    if (!entries) {
      out.error = errorOf(entries.error(), "day store");
      return out;
    }
    out.domain = out.cursor;
    out.carried = carriedRecord(*entries);
    return out;
  }
  out.more = true;  // bounded: the caller continues from out.cursor on its next turn
  return out;
}

StoreOutcome buildAndStore(DayStore& days, ReportStateStore& state, UtcDay day, const std::string& domain,
                           const RuaDecision& rua, const ReporterIdentity& who, const std::string& token,
                           UnixSeconds now, const DayPlan* plan) {
  StoreOutcome out;
  auto entries = days.entries(day, domain);
  if (!entries) {
    out.error = errorOf(entries.error(), "day store");
    return out;
  }
  auto built = buildReport(day, domain, *entries, who, token, now);
  entries->clear();
  if (!built) {
    out.error = errorOf(built.error(), "report not built");
    return out;
  }
  std::vector<std::pair<int, Delivery>> deliveries;
  if (rua.record) {
    deliveries = destinationsOf(*rua.record, now);
  } else {
    deliveries.emplace_back(LookupIndex, pendingLookup(now));
  }
  auto stored = state.storeReport(day, domain, built->stored, deliveries, plan);
  if (!stored) {
    out.error = errorOf(stored.error(), "report state");
    return out;
  }
  out.stored = *stored;
  out.existed = !*stored;
  out.report_id = built->stored.report_id;
  out.destinations = deliveries.size();
  return out;
}

ClaimResult claimDue(ReportStateStore& state, const ClaimInput& in) {
  ClaimResult out;
  std::vector<std::string> keys;
  auto consider = [&](DeliveryRecord&& r) {
    out.cursor = r.key;
    if (claimable(r.delivery, in.rules)) {
      keys.push_back(std::move(r.key));
      return keys.size() < in.slots;
    }
    const Delivery& d = r.delivery;
    if (isOpen(d)) ++out.open;
    std::optional<UnixSeconds> due;
    if (d.state == DeliveryState::Pending) due = d.next_attempt;
    if (d.state == DeliveryState::Claimed && d.claim_owner != in.rules.owner) due = d.claimed_at + in.rules.stale_after;
    if (due && (!out.next_due || *due < *out.next_due)) out.next_due = due;
    return true;
  };
  auto scanned = state.scanDeliveries(in.prefix, in.after, [&](DeliveryRecord&& r) { return consider(std::move(r)); });
  if (scanned && keys.size() < in.slots && !in.after.empty()) {
    // Wrap around: from the start up to and including the cursor.
    scanned = state.scanDeliveries(in.prefix, "", [&](DeliveryRecord&& r) {
      if (r.key > in.after) return false;
      return consider(std::move(r));
    });
  }
  if (!scanned) {
    out.error = errorOf(scanned.error(), "report state");
    return out;
  }
  out.full_cycle = keys.size() < in.slots;
  if (!out.full_cycle) out.next_due.reset();
  if (keys.empty()) return out;
  auto claimed = state.claim(keys, in.rules);
  if (!claimed) {
    out.error = errorOf(claimed.error(), "report state");
    return out;
  }
  std::map<std::string, std::shared_ptr<const StoredReport>> reports;  // per domain of this batch
  for (auto& record : *claimed) {
    ClaimedDelivery item;
    const std::string report_key = reportKey(record.where.day, record.where.domain);
    if (record.delivery.kind != DeliveryKind::Lookup) {
      auto& report = reports[report_key];
      if (!report) {
        auto loaded = state.report(record.where.day, record.where.domain);
        if (loaded && *loaded) {
          report = std::make_shared<const StoredReport>(std::move(**loaded));
        } else {
          item.compose_error = loaded ? Error{ErrorCode::NotFound, "its report is not stored"} : loaded.error();
        }
      }
      item.report = report;
      if (report && record.delivery.kind == DeliveryKind::Mailto && in.mail != nullptr) {
        auto message = composeReportMail(*report, record.where.day, record.where.domain, record.delivery.rua,
                                         record.where.index, *in.mail, in.rules.now);
        if (message) {
          item.message = std::move(*message);
        } else {
          item.compose_error = message.error();
        }
      }
    }
    item.record = std::move(record);
    out.items.push_back(std::move(item));
  }
  return out;
}

FinishResult finishDelivery(ReportStateStore& state, const DeliveryRecord& record, std::uint64_t owner,
                            const Delivery& outcome, const std::vector<std::pair<int, Delivery>>& destinations) {
  FinishResult out;
  auto done = record.delivery.kind == DeliveryKind::Lookup && !destinations.empty()
                  ? state.resolveLookup(record.key, owner, outcome, destinations)
                  : state.finish(record.key, owner, outcome);
  if (!done) {
    out.error = errorOf(done.error(), "report state");
    return out;
  }
  out.ours = *done;
  return out;
}

}  // namespace mtasts::tlsrpt
