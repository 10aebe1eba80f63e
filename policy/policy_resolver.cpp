#include "policy/policy_resolver.hpp"

#include "policy/policy_fetch.hpp"
#include "sts/policy_parser.hpp"
#include "sts/txt_record.hpp"

#include <algorithm>
#include <memory>

namespace mtasts::policy {
namespace {

// A fetch is two steps (address lookup, then HTTPS); this handle cancels whichever is
// running. The state is shared with the callbacks so that a cancel from the handle and a
// completion from the network cannot both reach `done`.
struct FetchState {
  // Two handles, so that starting the HTTPS step never destroys the address lookup's
  // handle from inside that lookup's own callback.
  RequestHandle address_lookup;
  RequestHandle https;
  std::function<void(FetchOutcome)> done;
  bool cancelled = false;
};

class FetchHandle final : public PendingOperation {
 public:
  explicit FetchHandle(std::shared_ptr<FetchState> state) : state_(std::move(state)) {}
  ~FetchHandle() override { cancel(); }
  void cancel() noexcept override {
    if (!state_ || state_->cancelled) return;
    state_->cancelled = true;
    state_->done = nullptr;
    // Dropping the handles cancels the DNS lookup or HTTPS fetch under way.
    auto lookup = std::move(state_->address_lookup);
    auto https = std::move(state_->https);
  }

 private:
  std::shared_ptr<FetchState> state_;
};

void finish(const std::shared_ptr<FetchState>& state, FetchOutcome outcome) {
  if (state->cancelled || !state->done) return;
  auto done = std::move(state->done);
  state->done = nullptr;
  done(std::move(outcome));
}

}  // namespace

DiscoveryOutcome PolicyResolver::classifyTxt(const net::TxtAnswer& answer) {
  DiscoveryOutcome out;
  for (const auto& rr : answer.records) {
    std::string joined;
    for (const auto& s : rr) joined += s;
    out.records.push_back(std::move(joined));
  }
  switch (answer.status) {
    case net::DnsStatus::Failed:
      out.status = DiscoveryOutcome::Status::DnsFailed;
      out.detail = answer.detail.empty() ? "DNS lookup failed" : answer.detail;
      return out;
    case net::DnsStatus::NoRecord:
      out.status = DiscoveryOutcome::Status::NoRecord;
      out.detail = "no TXT record";
      return out;
    case net::DnsStatus::Ok:
      break;
  }
  auto record = sts::parseTxtRecords(answer.records);
  if (record) {
    out.status = DiscoveryOutcome::Status::Found;
    out.id = record->id;
    return out;
  }
  out.status = record.error().code == ErrorCode::NotFound ? DiscoveryOutcome::Status::NoRecord
                                                          : DiscoveryOutcome::Status::InvalidRecord;
  out.detail = record.error().detail;
  return out;
}

RequestHandle PolicyResolver::discover(const std::string& domain,
                                       std::function<void(DiscoveryOutcome)> done) {
  return dns_.lookupTxt("_mta-sts." + domain, [done = std::move(done)](net::TxtAnswer answer) {
    done(classifyTxt(answer));
  });
}

RequestHandle PolicyResolver::fetch(const std::string& domain,
                                    std::function<void(FetchOutcome)> done) {
  auto state = std::make_shared<FetchState>();
  state->done = std::move(done);
  const std::string host = "mta-sts." + domain;
  PolicyFetchRules rules;
  rules.timeout = options_.fetch_timeout;
  rules.max_policy_size = options_.max_policy_size;
  rules.port = options_.https_port;
  net::HttpsClient& https = https_;
  std::weak_ptr<FetchState> weak = state;

  state->address_lookup = dns_.lookupAddresses(host, [weak, host, rules, &https](net::AddressAnswer answer) {
    auto live = weak.lock();
    if (!live || live->cancelled) return;
    if (answer.status != net::DnsStatus::Ok || answer.addresses.empty()) {
      FetchOutcome outcome;
      outcome.failure = TlsRptResultType::StsPolicyFetchError;
      outcome.detail = answer.status == net::DnsStatus::NoRecord
                           ? host + " has no address"
                           : host + " address lookup failed: " + answer.detail;
      finish(live, std::move(outcome));
      return;
    }
    auto addresses = answer.addresses;
    live->https = fetchPolicyDocument(https, host, answer.addresses, rules,
                                              [weak, addresses](PolicyDocument document) {
      auto current = weak.lock();
      if (!current || current->cancelled) return;
      FetchOutcome outcome;
      outcome.addresses = addresses;
      if (!document.ok) {
        outcome.failure = document.failure;
        outcome.detail = document.detail;
        finish(current, std::move(outcome));
        return;
      }
      auto policy = sts::parsePolicy(document.body);
      outcome.body = std::move(document.body);
      if (!policy) {
        // RFC 8460 4.3.2: a document that breaks the policy grammar is invalid; one over the
        // size limit (only reachable with a fake client) was never a policy document.
        outcome.failure = policy.error().code == ErrorCode::TooLarge ? TlsRptResultType::StsPolicyFetchError
                                                                     : TlsRptResultType::StsPolicyInvalid;
        outcome.detail = policy.error().detail;
      } else {
        outcome.ok = true;
        outcome.policy = std::move(*policy);
      }
      finish(current, std::move(outcome));
    });
  });
  return std::make_unique<FetchHandle>(std::move(state));
}

}  // namespace mtasts::policy
