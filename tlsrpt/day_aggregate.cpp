#include "tlsrpt/day_aggregate.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <unordered_map>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/text_escape.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds DropLogInterval = 60;
// recycle() keeps at most this many entries' storage (about 8 MiB).
constexpr std::size_t MaxRecycledEntries = (8u << 20) / sizeof(DayEntry);

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

bool isOwnFailureType(TlsRptResultType type) {
  return type == TlsRptResultType::StsPolicyFetchError || type == TlsRptResultType::StsPolicyInvalid ||
         type == TlsRptResultType::StsWebpkiInvalid;
}

// The failure text as a report string: at most MaxOwnFailureReasonBytes, no control bytes.
std::string reasonCode(std::string_view reason) {
  std::string out = toValidUtf8(reason.substr(0, MaxOwnFailureReasonBytes));
  // Cutting may split a UTF-8 sequence: its bytes became U+FFFD above, which is fine.
  for (char& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) c = ' ';
  }
  return out;
}

// What tells entries apart in a delta: day, domain, record and the policy as reported.
bool sameEntryKey(const DayEntry& a, const DayEntry& b) {
  return a.day == b.day && a.domain == b.domain && a.tlsrpt_record == b.tlsrpt_record &&
         a.counts.policy == b.counts.policy;
}

std::size_t entryKeyHash(const DayEntry& e) {
  std::size_t h = std::hash<std::int64_t>{}(e.day.days) ^ static_cast<std::size_t>(e.counts.policy.type);
  const auto add = [&h](std::string_view s) { h = h * 1'000'003 ^ std::hash<std::string_view>{}(s); };
  add(e.domain);
  add(e.tlsrpt_record);
  add(e.counts.policy.domain);
  for (const auto& s : e.counts.policy.strings) add(s);
  for (const auto& m : e.counts.policy.mx_hosts) add(m);
  return h;
}

}  // namespace

std::uint64_t DayDelta::sessions() const {
  std::uint64_t n = 0;
  for (const auto& e : entries) {
    n = saturatingAdd(n, saturatingAdd(e.counts.successful_sessions, e.counts.failed_sessions));
  }
  return n;
}

std::uint64_t mergeDelta(DayDelta& into, DayDelta&& from, const DayLimits& limits) {
  std::uint64_t overflowed = 0;
  if (into.entries.empty()) {
    // The usual case (nothing kept from a failed commit): a delta of takeDelta() has one
    // entry per key already, as the aggregate keeps them.
    into.entries = std::move(from.entries);
  } else {
    // Hashed, not a search per entry: a delta may hold an entry for each of 20,000 domains.
    std::unordered_multimap<std::size_t, std::size_t> index;
    index.reserve(into.entries.size() + from.entries.size());
    for (std::size_t i = 0; i < into.entries.size(); ++i) index.emplace(entryKeyHash(into.entries[i]), i);
    for (auto& entry : from.entries) {
      const std::size_t hash = entryKeyHash(entry);
      auto [first, last] = index.equal_range(hash);
      auto same = std::find_if(first, last,
                               [&](const auto& slot) { return sameEntryKey(into.entries[slot.second], entry); });
      if (same == last) {
        index.emplace(hash, into.entries.size());
        into.entries.push_back(std::move(entry));
      } else {
        const std::uint64_t over = mergeDayEntry(into.entries[same->second], entry, limits.max_detail_rows);
        overflowed = saturatingAdd(overflowed, over);
      }
    }
  }
  for (auto& position : from.positions) {
    auto it = std::find_if(into.positions.begin(), into.positions.end(),
                           [&](const auto& p) { return p.first == position.first; });
    if (it == into.positions.end()) {
      into.positions.push_back(std::move(position));
    } else {
      it->second = std::move(position.second);
    }
  }
  return overflowed;
}

DayAggregate::DayAggregate(const Clock& clock, DayLimits limits, CollectorStats& stats)
    : clock_(clock), limits_(limits), stats_(stats) {}

void DayAggregate::addDatagrams(std::span<const DatagramSessions* const> batch) {
  const UtcDay day = utcDayOf(clock_.now());
  Notes notes;
  {
    std::lock_guard lock(mutex_);
    pruneLocked(day);
    for (const DatagramSessions* datagram : batch) {
      for (const auto& session : datagram->sessions) {
        countLocked(day, datagram->report_domain, datagram->tlsrpt_record, session.policy, session.failed,
                    session.failure_details, SessionSource::Datagram, notes);
      }
    }
  }
  emit(notes);
}

void DayAggregate::addDatagrams(std::span<const DatagramSessions> batch) {
  std::vector<const DatagramSessions*> pointers;
  pointers.reserve(batch.size());
  for (const auto& datagram : batch) pointers.push_back(&datagram);
  addDatagrams(std::span<const DatagramSessions* const>(pointers));
}

Result<void> DayAggregate::addOwnFailure(std::string_view domain, TlsRptResultType result, std::string_view reason) {
  std::string name = toLowerAscii(domain);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (!isValidHostname(name) || isIpAddressLiteral(name) || !isOwnFailureType(result)) {
    stats_.rejected_own_failures.fetch_add(1, std::memory_order_relaxed);
    return fail(ErrorCode::InvalidInput,
                fmt::format("own failure not counted: domain={} result={}", escapeForLog(domain, 64),
                            tlsRptResultTypeName(result)));
  }
  PolicyDescriptor policy;
  policy.type = PolicyType::Sts;
  policy.domain = name;
  std::vector<FailureDetail> rows(1);
  rows[0].result = result;
  rows[0].failure_reason_code = reasonCode(reason);
  const UtcDay day = utcDayOf(clock_.now());
  Notes notes;
  {
    std::lock_guard lock(mutex_);
    pruneLocked(day);
    countLocked(day, name, {}, policy, true, rows, SessionSource::OwnFailure, notes);
  }
  emit(notes);
  return {};
}

void DayAggregate::addSessions(SessionSource source, std::string_view report_domain, std::string_view tlsrpt_record,
                               std::span<const SessionOutcome> sessions) {
  const UtcDay day = utcDayOf(clock_.now());
  Notes notes;
  {
    std::lock_guard lock(mutex_);
    pruneLocked(day);
    for (const auto& session : sessions) {
      countLocked(day, report_domain, tlsrpt_record, session.policy, session.failed, session.failure_details, source,
                  notes);
    }
  }
  emit(notes);
}

bool isPositionName(std::string_view name) noexcept {
  return !name.empty() && name.size() <= MaxPositionNameBytes && name.find('\0') == std::string_view::npos;
}

Result<void> DayAggregate::addBatch(SessionSource source, std::span<SourcedSession> sessions,
                                    std::string position_name, std::string position_bytes) {
  if (!isPositionName(position_name) || position_bytes.size() > MaxPositionBytes) {
    return fail(ErrorCode::InvalidInput, fmt::format("source position refused name={} bytes={}",
                                                     escapeForLog(position_name, 64), position_bytes.size()));
  }
  const UnixSeconds now = clock_.now();
  Notes notes;
  {
    std::lock_guard lock(mutex_);
    pruneLocked(utcDayOf(now));
    for (auto& s : sessions) {
      const UtcDay day = utcDayOf(s.at != 0 ? s.at : now);
      countLocked(day, s.report_domain, s.tlsrpt_record, s.outcome.policy, s.outcome.failed,
                  s.outcome.failure_details, source, notes);
    }
    setPositionLocked(std::move(position_name), std::move(position_bytes));
  }
  emit(notes);
  return {};
}

Result<void> DayAggregate::setPosition(std::string name, std::string bytes) {
  if (!isPositionName(name) || bytes.size() > MaxPositionBytes) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("source position refused name={} bytes={}", escapeForLog(name, 64), bytes.size()));
  }
  std::lock_guard lock(mutex_);
  setPositionLocked(std::move(name), std::move(bytes));
  return {};
}

void DayAggregate::setPositionLocked(std::string name, std::string bytes) {
  auto it = std::find_if(positions_.begin(), positions_.end(), [&](const auto& p) { return p.first == name; });
  if (it == positions_.end()) {
    positions_.emplace_back(std::move(name), std::move(bytes));
  } else {
    it->second = std::move(bytes);
  }
}

DayDelta DayAggregate::takeDelta() {
  DayDelta out;
  std::lock_guard lock(mutex_);
  out.entries.swap(entries_);
  entries_.swap(spare_);  // empty, with the capacity of an earlier delta (or none)
  out.positions.swap(positions_);
  ++generation_;  // every DomainState's pending slots are now stale
  return out;
}

void DayAggregate::recycle(std::vector<DayEntry> entries) {
  // A burst's storage is not kept for good: only what a busy ordinary interval needs.
  if (entries.capacity() > MaxRecycledEntries) return;
  entries.clear();  // the entries' strings are freed here, outside the lock
  std::lock_guard lock(mutex_);
  if (entries.capacity() > spare_.capacity()) spare_.swap(entries);
}

void DayAggregate::seed(const DayEntry& stored) {
  std::lock_guard lock(mutex_);
  auto& state = known_[stored.day.days].domains[stored.domain];
  const EntryDigest digest = entryDigest(stored.counts.policy, stored.tlsrpt_record);
  if (std::find(state.digests.begin(), state.digests.end(), digest) == state.digests.end()) {
    state.digests.push_back(digest);
  }
}

std::size_t DayAggregate::pendingEntries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void DayAggregate::pruneLocked(UtcDay today) {
  // Sessions are added under the clock's day; a clock that steps back a little still finds
  // yesterday's bounds. Older days are no longer added to, except by a source that counts
  // under its own time (addBatch): such a day stays while the current delta has entries of
  // it, so that their slots are found and no entry key is made twice in one delta.
  for (auto it = known_.begin(); it != known_.end() && it->first < today.days - 1;) {
    it = it->second.generation == generation_ ? std::next(it) : known_.erase(it);
  }
}

DayAggregate::DomainState* DayAggregate::admitLocked(UtcDay day, std::string_view domain, Notes& notes) {
  auto& day_state = known_[day.days];
  day_state.generation = generation_;
  auto& domains = day_state.domains;
  auto it = domains.find(domain);
  if (it != domains.end()) return &it->second;
  if (domains.size() >= limits_.max_domains_per_day) {
    stats_.dropped_domain_bound.fetch_add(1, std::memory_order_relaxed);
    ++notes.dropped;
    if (notes.dropped_example.empty()) notes.dropped_example = fmt::format("domain {} (domain bound)", domain);
    return nullptr;
  }
  return &domains.emplace(std::string(domain), DomainState{}).first->second;
}

void DayAggregate::countLocked(UtcDay day, std::string_view domain, std::string_view record,
                               const PolicyDescriptor& policy, bool failed, const std::vector<FailureDetail>& rows,
                               SessionSource source, Notes& notes) {
  DomainState* state = admitLocked(day, domain, notes);
  if (state == nullptr) return;
  if (state->generation != generation_) {
    state->pending.clear();  // slots of an earlier delta; the capacity is kept
    state->generation = generation_;
  }
  auto& slots = state->pending;
  DayEntry* entry = nullptr;
  for (std::uint32_t i : slots) {
    if (entries_[i].tlsrpt_record == record && entries_[i].counts.policy == policy) {
      entry = &entries_[i];
      break;
    }
  }
  if (entry == nullptr) {
    const EntryDigest digest = entryDigest(policy, record);
    if (std::find(state->digests.begin(), state->digests.end(), digest) == state->digests.end()) {
      if (state->digests.size() >= limits_.max_policies_per_domain) {
        stats_.dropped_policy_bound.fetch_add(1, std::memory_order_relaxed);
        ++notes.dropped;
        if (notes.dropped_example.empty()) notes.dropped_example = fmt::format("domain {} (policy bound)", domain);
        return;
      }
      state->digests.push_back(digest);
    }
    slots.push_back(static_cast<std::uint32_t>(entries_.size()));
    entry = &entries_.emplace_back();
    entry->day = day;
    entry->domain = std::string(domain);
    entry->tlsrpt_record = std::string(record);
    entry->counts.policy = policy;
  }
  const std::uint64_t overflowed = countSession(*entry, failed, rows, source, limits_.max_detail_rows);
  stats_.sessions[static_cast<std::size_t>(source)].fetch_add(1, std::memory_order_relaxed);
  if (overflowed > 0) {
    stats_.overflow_rows.fetch_add(overflowed, std::memory_order_relaxed);
    if (!state->overflow_logged) {
      state->overflow_logged = true;
      notes.overflowed_domains.emplace_back(domain);
    }
  }
}

void DayAggregate::emit(Notes& notes) {
  for (const auto& domain : notes.overflowed_domains) {
    logger()->warn("failure rows over the bound, further distinct rows counted in overflow rows domain={} "
                   "max_detail_rows={}",
                   domain, limits_.max_detail_rows);
  }
  if (notes.dropped == 0) return;
  const UnixSeconds now = clock_.now();
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    drops_unlogged_ += notes.dropped;
    if (last_drop_log_ != 0 && now - last_drop_log_ < DropLogInterval) return;
    last_drop_log_ = now;
    dropped = std::exchange(drops_unlogged_, 0);
  }
  logger()->warn("sessions not counted: a day bound is reached sessions={} example={} max_domains_per_day={} "
                 "max_policies_per_domain={}",
                 dropped, escapeForLog(notes.dropped_example), limits_.max_domains_per_day,
                 limits_.max_policies_per_domain);
}

}  // namespace mtasts::tlsrpt
