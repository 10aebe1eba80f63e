// ReportSender: claiming due deliveries, making each attempt (the _smtp._tls lookup, the mail
// through sendmail, the HTTPS POST) and storing its outcome with the retry rules.
#include "tlsrpt/report_sender.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds ErrorRetrySeconds = 60;
constexpr std::size_t MaxHttpsResponseBody = 16 * 1024;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

std::string destinationOf(const DeliveryRecord& r) {
  return r.delivery.kind == DeliveryKind::Lookup ? tlsRptRecordName(r.where.domain) : escapeForLog(r.delivery.rua.uri);
}

}  // namespace

void ReportSender::startClaim() {
  claiming_ = true;
  const UnixSeconds now = deps_.clock.now();
  ClaimInput in;
  if (manual_) {
    in.prefix = manual_->domain.empty() ? deliveryDayPrefix(manual_->day)
                                        : deliveryDomainPrefix(manual_->day, manual_->domain);
  } else {
    in.prefix = std::string(DeliveryKeyPrefix);
  }
  in.after = scan_cursor_;
  in.slots = options_.max_in_flight - in_flight_.size();
  in.rules = claimRules(now);
  in.mail = &options_.mail;  // read only, and not changed while the sender lives
  scan_dirty_ = false;
  auto result = std::make_shared<ClaimResult>();
  post([state = deps_.state, in, result] { *result = claimDue(*state, in); },
       [this, result, now] {
         claiming_ = false;
         if (result->error) {
           logger()->error("tlsrpt cannot read the delivery state error={}", escapeForLog(result->error->detail));
           next_due_ = now + ErrorRetrySeconds;
           if (manual_) {
             ++summary_.errors;
             claim_exhausted_ = true;
           }
           pump();
           return;
         }
         scan_cursor_ = result->cursor;
         if (result->full_cycle) {
           // Every open record was seen: those claimed now are in flight, the rest are counted in
           // open. Completions that close a record lower it until the next full scan.
           if (!manual_) options_.metrics.pending.set(static_cast<std::int64_t>(result->open + result->items.size()));
           next_due_ = result->next_due;
           claim_exhausted_ = result->items.empty() || manual_.has_value();
         } else {
           scan_dirty_ = true;  // the slots filled up: more may be due
         }
         for (auto& item : result->items) startDelivery(std::move(item));
         pump();
       });
}

void ReportSender::startDelivery(ClaimedDelivery item) {
  const std::string key = item.record.key;
  InFlight& f = in_flight_[key];
  f.item = std::move(item);
  const DeliveryRecord& r = f.item.record;
  logger()->debug("tlsrpt delivery attempt day={} domain={} to={} attempt={}", formatDate(r.where.day),
                  r.where.domain, destinationOf(r), r.delivery.attempts);
  if (f.item.compose_error) {
    Attempt a;
    a.permanent = f.item.compose_error->code == ErrorCode::InvalidInput;
    a.error = f.item.compose_error->detail;
    complete(key, std::move(a));
    return;
  }
  switch (r.delivery.kind) {
    case DeliveryKind::Lookup:
      f.handle = deps_.dns.lookupTxt(
          tlsRptRecordName(r.where.domain), callback([this, key](net::TxtAnswer answer) {
            auto record = recordFromTxt(answer);
            Attempt a;
            if (record) {
              a.ok = true;
              a.destinations = destinationsOf(*record, deps_.clock.now());
            } else {
              a.permanent = record.error().code != ErrorCode::Temporary;
              a.error = record.error().detail;
            }
            complete(key, std::move(a));
          }));
      break;
    case DeliveryKind::Mailto: {
      std::string message = std::move(f.item.message);
      f.item.message.clear();
      f.handle = deps_.mail.send(options_.mail.from, r.delivery.rua.address, std::move(message),
                                 callback([this, key](Result<void> sent) {
                                   Attempt a;
                                   a.ok = sent.has_value();
                                   if (!sent) a.error = sent.error().detail;
                                   complete(key, std::move(a));
                                 }));
      break;
    }
    case DeliveryKind::Https: startHttps(key); break;
  }
}

void ReportSender::startHttps(const std::string& key) {
  InFlight& f = in_flight_[key];
  const std::string host = f.item.record.delivery.rua.host;
  f.handle = deps_.dns.lookupAddresses(host, callback([this, key](net::AddressAnswer answer) {
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) return;
    InFlight& live = it->second;
    const ReportUri& u = live.item.record.delivery.rua;
    if (answer.status != net::DnsStatus::Ok || answer.addresses.empty() || !live.item.report) {
      Attempt a;
      a.error = live.item.report ? "no address for " + escapeForLog(u.host) + " (" + answer.detail + ")"
                                 : "its report is not stored";
      complete(key, std::move(a));
      return;
    }
    net::HttpsRequest request;
    request.method = net::HttpMethod::Post;
    request.host = u.host;
    request.path = u.target;
    request.port = u.port;
    request.addresses = std::move(answer.addresses);
    request.headers = {{"Content-Type", "application/tlsrpt+gzip"}};
    request.body = live.item.report->gzip;
    request.timeout = options_.https_timeout;
    request.max_body = MaxHttpsResponseBody;
    request.read_body = [](const net::HttpsResponse&) { return false; };  // the status says it all
    live.item.report.reset();  // the body holds the bytes now
    live.handle = deps_.https.send(std::move(request), callback([this, key](net::HttpsResult result) {
      Attempt a;
      if (!result.ok()) {
        a.error = fmt::format("https {}: {}", net::httpsErrorKindName(result.error->kind),
                              escapeForLog(result.error->detail));
      } else if (result.response.status >= 200 && result.response.status <= 299) {
        a.ok = true;
      } else {
        a.error = fmt::format("HTTP status {}", result.response.status);
      }
      complete(key, std::move(a));
    }));
  }));
}

void ReportSender::complete(const std::string& key, Attempt attempt) {
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) return;
  InFlight& f = it->second;
  f.item.report.reset();  // one report in memory per delivery, and only while it is sent
  f.item.message.clear();
  const UnixSeconds now = deps_.clock.now();
  const DeliveryRecord record = f.item.record;
  Delivery d = record.delivery;
  if (attempt.ok) {
    d.state = DeliveryState::Done;
    d.next_attempt = 0;
    d.last_error.clear();
  } else {
    d.last_error = attempt.error.substr(0, MaxDeliveryErrorBytes);
    std::optional<UnixSeconds> next;
    if (!attempt.permanent) next = nextAttemptAfterFailure(options_.retry, d.first_attempt, d.attempts, now);
    d.state = next ? DeliveryState::Pending : DeliveryState::GivenUp;
    d.next_attempt = next.value_or(0);
  }
  d.claim_owner = 0;
  d.claim_pid = 0;
  d.claimed_at = 0;
  auto result = std::make_shared<FinishResult>();
  post([state = deps_.state, record, owner = owner_, d, destinations = attempt.destinations, result] {
         *result = finishDelivery(*state, record, owner, d, destinations);
       },
       [this, key, record, d, attempt = std::move(attempt), result] {
         in_flight_.erase(key);
         const std::string day = formatDate(record.where.day);
         if (const auto* m = options_.metrics.of(record.delivery.kind)) {
           if (attempt.ok) {
             m->delivered.inc();
           } else {
             m->failed.inc();
             if (d.state == DeliveryState::GivenUp) m->given_up.inc();
           }
         }
         if (!manual_ && !result->error && result->ours && d.state != DeliveryState::Pending &&
             options_.metrics.pending.value() > 0) {
           options_.metrics.pending.dec();
         }
         const std::string to = destinationOf(record);
         if (result->error) {
           logger()->error("tlsrpt delivery outcome not stored day={} domain={} to={} error={}", day,
                           record.where.domain, to, escapeForLog(result->error->detail));
           if (manual_) ++summary_.errors;
         } else if (!result->ours) {
           logger()->warn("tlsrpt delivery outcome not stored: another process took the claim over day={} domain={} to={}",
                          day, record.where.domain, to);
         }
         if (attempt.ok && record.delivery.kind == DeliveryKind::Lookup) {
           logger()->info("tlsrpt TLSRPT record found day={} domain={} destinations={}", day, record.where.domain,
                          attempt.destinations.size());
           scan_dirty_ = true;
           claim_exhausted_ = false;
         } else if (attempt.ok) {
           ++counters_.delivered;
           if (manual_) ++summary_.delivered;
           logger()->info("tlsrpt report delivered day={} domain={} to={} attempt={}", day, record.where.domain, to,
                          d.attempts);
         } else if (d.state == DeliveryState::Pending) {
           ++counters_.retried;
           if (manual_) ++summary_.failed;
           logger()->info("tlsrpt delivery failed, retried later day={} domain={} to={} attempt={} next_in={}s error={}",
                          day, record.where.domain, to, d.attempts, d.next_attempt - deps_.clock.now(),
                          escapeForLog(d.last_error));
           if (!next_due_ || d.next_attempt < *next_due_) next_due_ = d.next_attempt;
         } else if (record.delivery.kind == DeliveryKind::Lookup && attempt.permanent) {
           ++counters_.no_record;
           logger()->info("tlsrpt no report: no usable TLSRPT record day={} domain={} reason={}", day,
                          record.where.domain, escapeForLog(d.last_error));
         } else {
           ++counters_.given_up;
           if (manual_) ++summary_.failed;
           logger()->warn("tlsrpt delivery given up day={} domain={} to={} attempts={} error={}", day,
                          record.where.domain, to, d.attempts, escapeForLog(d.last_error));
         }
         pump();
       });
}

}  // namespace mtasts::tlsrpt
