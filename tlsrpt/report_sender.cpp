// ReportSender: the timer, day planning, one build step per loop turn, stop, and the end of
// a manual run. Deliveries are in report_sender_delivery.cpp, dry-run files in
// report_sender_dry_run.cpp.
#include "tlsrpt/report_sender.hpp"

#include <openssl/rand.h>
#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds ErrorRetrySeconds = 60;
constexpr std::uint64_t SkipsPerPlanSave = 100;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

std::uint64_t randomU64() {
  std::uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    // No entropy from OpenSSL is a broken system; a report token must still differ per call.
    static std::uint64_t fallback = static_cast<std::uint64_t>(::getpid()) << 32;
    v = ++fallback ^ static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return v;
}

std::string tokenOf(std::uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace

ReportSender::ReportSender(ReportSenderDeps deps, ReportSenderOptions options)
    : deps_(deps), options_(std::move(options)) {
  if (!options_.random) options_.random = randomU64;
  if (options_.pid == 0) options_.pid = ::getpid();
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  while (owner_ == 0) owner_ = options_.random();
}

ReportSender::~ReportSender() { *alive_ = false; }

void ReportSender::noteStep(std::chrono::steady_clock::duration took) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took);
  longest_step_ = std::max(longest_step_, us);
}

void ReportSender::post(std::function<void()> work, std::function<void()> done) {
  ++jobs_;
  deps_.worker.post(std::move(work), callback([this, done = std::move(done)] {
                      --jobs_;
                      done();
                    }));
}

void ReportSender::noteLine(std::string line) {
  if (manual_ && manual_->on_line) {
    manual_->on_line(line);
  } else {
    summary_.lines.push_back(std::move(line));
  }
}

void ReportSender::turn() {
  turn_timer_ = deps_.scheduler.schedule(std::chrono::milliseconds(0), callback([this] { pump(); }));
}

ClaimRules ReportSender::claimRules(UnixSeconds now) const {
  ClaimRules rules;
  rules.now = now;
  rules.owner = owner_;
  rules.pid = options_.pid;
  rules.manual_since = manual_ ? manual_since_ : 0;
  rules.stale_after = options_.stale_claim_after;
  rules.process_alive = options_.process_alive;
  return rules;
}

void ReportSender::start() {
  started_ = true;
  logger()->info("tlsrpt reports enabled submitter={} delay={}s retry={}s", options_.identity.submitter,
                 options_.max_delay, options_.retry.window);
  turn();
}

void ReportSender::runManual(ManualRun run, std::function<void(RunSummary)> done) {
  manual_ = std::move(run);
  manual_done_ = std::move(done);
  manual_since_ = deps_.clock.now();
  scan_dirty_ = true;
  turn();
}

void ReportSender::stop(std::chrono::milliseconds bound, std::function<void()> done) {
  stopping_ = true;
  stop_done_ = std::move(done);
  timer_.reset();
  turn_timer_.reset();
  build_lookup_.reset();
  if (in_flight_.empty()) {
    finishStop();
    return;
  }
  logger()->info("tlsrpt waiting for deliveries in flight count={} bound={}ms", in_flight_.size(), bound.count());
  stop_timer_ = deps_.scheduler.schedule(bound, callback([this] {
    logger()->warn("tlsrpt deliveries cancelled at shutdown count={} (retried after the restart)", in_flight_.size());
    for (auto& [key, f] : in_flight_) f.handle.reset();
    in_flight_.clear();
    finishStop();
  }));
}

void ReportSender::finishStop() {
  if (!stop_done_) return;
  stop_timer_.reset();
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  done();
}

void ReportSender::pump() {
  if (stopping_) {
    if (in_flight_.empty()) finishStop();
    return;
  }
  const UnixSeconds now = deps_.clock.now();
  if (manual_) {
    if (!manual_built_ && !building_) startBuildStep(manual_->day);
    if (!manual_->dry_run && !claiming_ && !claim_exhausted_ && in_flight_.size() < options_.max_in_flight) {
      startClaim();
    }
    maybeFinishManual();
    return;
  }
  if (!planning_ && (plans_stale_ || now >= replan_at_)) startPlan();
  if (!planning_ && !building_ && now >= build_retry_at_) {
    for (const auto& [day, plan] : plans_) {
      if (!plan.built && plan.due_at <= now) {
        startBuildStep(day);
        break;
      }
    }
  }
  if (!claiming_ && in_flight_.size() < options_.max_in_flight && (scan_dirty_ || (next_due_ && *next_due_ <= now))) {
    startClaim();
  }
  armTimer();
}

void ReportSender::armTimer() {
  const UnixSeconds now = deps_.clock.now();
  UnixSeconds wake = now + options_.max_sleep;
  if (!planning_) wake = std::min(wake, replan_at_);
  if (!building_) {
    for (const auto& [day, plan] : plans_) {
      if (!plan.built) wake = std::min(wake, std::max(plan.due_at, build_retry_at_));
    }
  }
  if (!claiming_ && in_flight_.size() < options_.max_in_flight && next_due_) wake = std::min(wake, *next_due_);
  const UnixSeconds delay = std::max<UnixSeconds>(wake - now, 1);
  timer_ = deps_.scheduler.schedule(std::chrono::seconds(delay), callback([this] { pump(); }));
}

void ReportSender::startPlan() {
  planning_ = true;
  PlanInput in;
  in.now = deps_.clock.now();
  in.catch_up_days = options_.catch_up_days;
  in.keep_state_days = options_.keep_state_days;
  in.max_delay = options_.max_delay;
  in.sweep = true;
  in.random = options_.random;
  auto result = std::make_shared<PlanResult>();
  post([days = &deps_.days, state = deps_.state, in, result] { *result = planDays(*days, *state, in); },
       [this, result, now = in.now] {
         planning_ = false;
         if (result->error) {
           logger()->error("tlsrpt cannot plan the reports error={}", escapeForLog(result->error->detail));
           replan_at_ = now + ErrorRetrySeconds;
         } else {
           plans_.clear();
           for (auto& [day, plan] : result->open) plans_.emplace(day, std::move(plan));
           plans_stale_ = false;
           replan_at_ = dayStart(UtcDay{utcDayOf(now).days + 1});
           if (result->swept_days > 0) logger()->info("tlsrpt report state swept days={}", result->swept_days);
         }
         pump();
       });
}

void ReportSender::startBuildStep(UtcDay day) {
  building_ = true;
  auto result = std::make_shared<NextDomain>();
  DayStore* days = &deps_.days;
  ReportStateStore* state = deps_.state;
  const bool dry = manual_ && manual_->dry_run;
  if (manual_ && !manual_->domain.empty()) {
    // One domain: its entries, unless its report is stored (then only its deliveries).
    const std::string domain = manual_->domain;
    if (manual_cursor_ == domain) {
      buildDone(day);
      return;
    }
    post(
        [days, state, dry, day, domain, result] {
          result->cursor = domain;
          if (state != nullptr && !dry) {
            auto has = state->hasReport(day, domain);
            if (!has) {
              result->error = has.error();
              return;
            }
            if (*has) {
              result->existing = 1;
              return;
            }
          }
          auto entries = days->entries(day, domain);
          if (!entries) {
            result->error = entries.error();
          } else if (!entries->empty()) {
            result->domain = domain;
            result->carried = carriedRecord(*entries);
          }
        },
        [this, day, result] { onNextDomain(day, std::move(*result)); });
    return;
  }
  const std::string cursor = manual_ ? manual_cursor_ : plans_[day].cursor;
  post([days, state = dry ? nullptr : state, day, cursor,
        result] { *result = findNextDomain(*days, state, day, cursor); },
       [this, day, result] { onNextDomain(day, std::move(*result)); });
}

void ReportSender::onNextDomain(UtcDay day, NextDomain next) {
  if (stopping_) {
    building_ = false;
    pump();
    return;
  }
  if (next.error) {
    logger()->error("tlsrpt cannot read the day's counts day={} error={}", formatDate(day),
                    escapeForLog(next.error->detail));
    building_ = false;
    if (manual_) {
      ++summary_.errors;
      manual_built_ = true;
    } else {
      build_retry_at_ = deps_.clock.now() + ErrorRetrySeconds;
    }
    pump();
    return;
  }
  if (manual_) {
    summary_.reused += next.existing;
    if (next.existing > 0 && !manual_->domain.empty()) noteLine(manual_->domain + ": report stored before, reused");
  }
  if (!next.domain) {
    if (manual_) manual_cursor_ = next.cursor;
    if (!manual_) plans_[day].cursor = next.cursor;
    if (next.more) {
      building_ = false;
      turn();
      return;
    }
    buildDone(day);
    return;
  }
  const std::string domain = *next.domain;
  if (manual_) ++summary_.domains;
  if (manual_ && manual_->dry_run) {
    writeDryRun(day, domain, next.carried, std::nullopt);
    return;
  }
  resolveRua(day, domain, next.carried, [this, day, domain](std::optional<RuaDecision> rua, std::string why) {
    if (!rua) {
      skipDomain(day, domain, why);
    } else {
      storeDomain(day, domain, std::move(*rua));
    }
  });
}

void ReportSender::resolveRua(UtcDay, const std::string& domain, const std::optional<std::string>& carried,
                              std::function<void(std::optional<RuaDecision>, std::string)> then) {
  if (carried) {
    if (auto record = recordFromCarried(*carried)) {
      then(RuaDecision{std::move(*record)}, "");
      return;
    }
  }
  build_lookup_ = deps_.dns.lookupTxt(
      tlsRptRecordName(domain), callback([this, then = std::move(then)](net::TxtAnswer answer) {
        build_lookup_.reset();
        auto record = recordFromTxt(answer);
        if (record) {
          then(RuaDecision{std::move(*record)}, "");
        } else if (record.error().code == ErrorCode::Temporary) {
          then(RuaDecision{std::nullopt}, "");  // stored with a pending lookup, retried
        } else {
          then(std::nullopt, record.error().detail);
        }
      }));
}

void ReportSender::skipDomain(UtcDay day, const std::string& domain, const std::string& why) {
  logger()->info("tlsrpt no report: no usable TLSRPT record day={} domain={} reason={}", formatDate(day), domain,
                 escapeForLog(why));
  ++counters_.no_record;
  building_ = false;
  if (manual_) {
    ++summary_.no_record;
    noteLine(fmt::format("{}: no report: {}", domain, escapeForLog(why)));
    manual_cursor_ = domain;
    turn();
    return;
  }
  DayPlan& plan = plans_[day];
  plan.cursor = domain;
  ++plan.skipped;
  if (++unsaved_skips_ >= SkipsPerPlanSave) {
    unsaved_skips_ = 0;
    post([state = deps_.state, day, plan] { (void)state->putDayPlan(day, plan); }, [] {});
  }
  turn();
}

void ReportSender::storeDomain(UtcDay day, const std::string& domain, RuaDecision rua) {
  const UnixSeconds now = deps_.clock.now();
  std::optional<DayPlan> plan;
  if (!manual_) {
    plan = plans_[day];
    plan->cursor = domain;
    ++plan->reports;
  }
  auto out = std::make_shared<StoreOutcome>();
  post(
      [days = &deps_.days, state = deps_.state, day, domain, rua = std::move(rua), who = options_.identity,
       token = tokenOf(options_.random()), now, plan, out] {
        *out = buildAndStore(*days, *state, day, domain, rua, who, token, now, plan ? &*plan : nullptr);
      },
      [this, day, domain, out, plan] {
        building_ = false;
        const bool bad_data = out->error && out->error->code == ErrorCode::InvalidInput;
        if (out->error) {
          logger()->error("tlsrpt report not stored day={} domain={} error={}", formatDate(day), domain,
                          escapeForLog(out->error->detail, 600));
          ++counters_.build_errors;
          if (manual_) {
            ++summary_.errors;
            noteLine(fmt::format("{}: report not built: {}", domain, escapeForLog(out->error->detail)));
          } else if (!bad_data) {
            build_retry_at_ = deps_.clock.now() + ErrorRetrySeconds;  // the store failed: try again
          }
        } else if (out->stored) {
          ++counters_.built;
          options_.metrics.built.inc();
          logger()->info("tlsrpt report stored day={} domain={} report_id={} destinations={}", formatDate(day), domain,
                         out->report_id, out->destinations);
          if (manual_) {
            ++summary_.built;
            noteLine(fmt::format("{}: report {} stored", domain, out->report_id));
          }
        } else if (manual_) {
          ++summary_.reused;
        }
        if (!out->error || bad_data) {
          if (manual_) {
            manual_cursor_ = domain;
          } else {
            auto& stored_plan = plans_[day];
            stored_plan.cursor = domain;
            if (plan && !out->error) stored_plan = *plan;
            unsaved_skips_ = 0;
          }
        }
        scan_dirty_ = true;
        claim_exhausted_ = false;
        turn();
      });
}

void ReportSender::buildDone(UtcDay day) {
  if (manual_) {
    manual_built_ = true;
    building_ = false;
    pump();
    return;
  }
  DayPlan plan = plans_[day];
  plan.built = true;
  post([state = deps_.state, day, plan] { (void)state->putDayPlan(day, plan); },
       [this, day, plan] {
         building_ = false;
         plans_.erase(day);
         logger()->info("tlsrpt reports of the day built day={} reports={} no_record={}", formatDate(day),
                        plan.reports, plan.skipped);
         pump();
       });
}

void ReportSender::maybeFinishManual() {
  if (!manual_ || !manual_done_ || summarizing_) return;
  if (!manual_built_ || building_ || claiming_ || !in_flight_.empty() || jobs_ > 0) return;
  if (!manual_->dry_run && !claim_exhausted_) return;
  auto finish = [this] {
    auto done = std::move(manual_done_);
    manual_done_ = nullptr;
    done(std::move(summary_));
  };
  if (manual_->dry_run || deps_.state == nullptr) {
    finish();
    return;
  }
  summarizing_ = true;
  const std::string prefix =
      manual_->domain.empty() ? deliveryDayPrefix(manual_->day) : deliveryDomainPrefix(manual_->day, manual_->domain);
  auto records = std::make_shared<Result<std::vector<DeliveryRecord>>>(std::vector<DeliveryRecord>{});
  post([state = deps_.state, prefix, records] { *records = state->deliveries(prefix); },
       [this, records, finish] {
         if (!*records) {
           ++summary_.errors;
         } else {
           for (const auto& r : **records) {
             const Delivery& d = r.delivery;
             const std::string what = d.kind == DeliveryKind::Lookup ? tlsRptRecordName(r.where.domain) : d.rua.uri;
             noteLine(fmt::format("{} {} {}: {} attempts={}{}{}", r.where.domain,
                                                  deliveryKindName(d.kind), escapeForLog(what),
                                                  deliveryStateName(d.state), d.attempts,
                                                  d.last_error.empty() ? "" : " last_error=",
                                                  escapeForLog(d.last_error)));
           }
         }
         finish();
       });
}

}  // namespace mtasts::tlsrpt
