#include "policy/dane_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace mtasts::policy {
namespace {

using cache::DaneState;
using net::DnssecStatus;
using net::DnsStatus;

std::uint32_t boundedTtl(std::uint32_t ttl) { return std::clamp(ttl, MinDaneTtl, MaxDaneTtl); }

// The MX lookup, then one TLSA lookup per host; the state is shared with the callbacks so
// that a cancel from the handle and a completion from the network cannot both reach `done`.
struct CheckState {
  net::DnsClient* dns = nullptr;
  DaneOutcome outcome;
  std::function<void(DaneOutcome)> done;
  RequestHandle mx_lookup;
  std::vector<RequestHandle> tlsa_lookups;
  std::size_t tlsa_left = 0;
  bool cancelled = false;
};

class CheckHandle final : public PendingOperation {
 public:
  explicit CheckHandle(std::shared_ptr<CheckState> state) : state_(std::move(state)) {}
  ~CheckHandle() override { cancel(); }
  void cancel() noexcept override {
    if (!state_ || state_->cancelled) return;
    state_->cancelled = true;
    state_->done = nullptr;
    // Moved out first: a lookup's destructor must not run while the vector is changing.
    auto mx = std::move(state_->mx_lookup);
    auto tlsa = std::move(state_->tlsa_lookups);
  }

 private:
  std::shared_ptr<CheckState> state_;
};

void finish(const std::shared_ptr<CheckState>& state) {
  if (state->cancelled || !state->done) return;
  auto done = std::move(state->done);
  state->done = nullptr;
  done(std::move(state->outcome));
}

void startTlsaLookups(const std::shared_ptr<CheckState>& state) {
  state->tlsa_left = state->outcome.hosts.size();
  std::weak_ptr<CheckState> weak = state;
  for (std::size_t i = 0; i < state->outcome.hosts.size(); ++i) {
    const std::string owner = "_25._tcp." + state->outcome.hosts[i].host;
    state->tlsa_lookups.push_back(state->dns->lookupTlsa(owner, [weak, i](net::TlsaAnswer answer) {
      auto live = weak.lock();
      if (!live || live->cancelled) return;
      DaneHost& host = live->outcome.hosts[i];
      host.usable = answer.status == DnsStatus::Ok ? usableTlsaCount(answer.records) : 0;
      host.tlsa = std::move(answer);
      if (--live->tlsa_left > 0) return;
      daneFromHosts(live->outcome);
      finish(live);
    }));
  }
}

}  // namespace

std::string_view daneStateName(DaneState state) noexcept {
  switch (state) {
    case DaneState::Unchecked: return "unchecked";
    case DaneState::Insecure: return "insecure";
    case DaneState::NoTlsa: return "no-tlsa";
    case DaneState::Usable: return "usable";
    case DaneState::Bogus: return "bogus";
    case DaneState::TlsaFailed: return "tlsa-failed";
    case DaneState::MxFailed: return "mx-failed";
  }
  return "?";
}

bool usableTlsaRecord(const net::TlsaRecord& r) {
  if (r.usage != 2 && r.usage != 3) return false;
  if (r.selector > 1) return false;
  switch (r.mtype) {
    case 0: return !r.data.empty();
    case 1: return r.data.size() == 32;
    case 2: return r.data.size() == 64;
    default: return false;
  }
}

std::size_t usableTlsaCount(const std::vector<net::TlsaRecord>& records) {
  return static_cast<std::size_t>(std::count_if(records.begin(), records.end(), usableTlsaRecord));
}

std::vector<std::string> daneHosts(const net::MxAnswer& mx) {
  std::vector<net::MxRecord> sorted = mx.records;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const net::MxRecord& a, const net::MxRecord& b) { return a.preference < b.preference; });
  std::vector<std::string> hosts;
  for (const auto& record : sorted) {
    if (record.host.empty()) continue;  // the null MX: no mail, no host
    if (std::find(hosts.begin(), hosts.end(), record.host) != hosts.end()) continue;
    hosts.push_back(record.host);
    if (hosts.size() == MaxDaneHosts) break;
  }
  return hosts;
}

void daneFromMx(DaneOutcome& out, std::string_view domain) {
  const net::MxAnswer& mx = out.mx;
  out.state = DaneState::Unchecked;
  if (mx.dnssec == DnssecStatus::Bogus) {
    out.state = DaneState::Bogus;
    out.detail = "MX answer is DNSSEC bogus: " + mx.detail;
  } else if (mx.status == DnsStatus::Failed) {
    out.state = DaneState::MxFailed;
    out.detail = "MX lookup failed: " + mx.detail;
  } else if (mx.dnssec != DnssecStatus::Secure) {
    out.state = DaneState::Insecure;
    out.detail = fmt::format("MX RRset is {}: DANE does not apply", net::dnssecStatusName(mx.dnssec));
  } else if (mx.status == DnsStatus::NoRecord && mx.detail == "NXDOMAIN") {
    out.state = DaneState::NoTlsa;
    out.detail = "the domain does not exist (secure NXDOMAIN)";
  } else if (mx.status == DnsStatus::NoRecord) {
    out.implicit_mx = true;  // RFC 7672 2.2.1: no MX, the domain is the host
    out.hosts.push_back(DaneHost{std::string(domain), {}, 0});
  } else {
    for (auto& host : daneHosts(mx)) out.hosts.push_back(DaneHost{std::move(host), {}, 0});
    if (out.hosts.empty()) {
      out.state = DaneState::NoTlsa;
      out.detail = "null MX (RFC 7505): the domain takes no mail";
    }
  }
  if (out.state != DaneState::Unchecked) {
    const bool failed = out.state == DaneState::Bogus || out.state == DaneState::MxFailed;
    out.ttl = failed ? MinDaneTtl : boundedTtl(mx.ttl);
  }
}

void daneFromHosts(DaneOutcome& out) {
  std::uint32_t ttl = out.mx.ttl;
  std::size_t usable = 0, bogus = 0, failed = 0;
  std::string first_bogus, first_failed;
  for (const auto& host : out.hosts) {
    ttl = std::min(ttl, host.tlsa.ttl);
    if (host.tlsa.dnssec == DnssecStatus::Bogus) {
      if (bogus++ == 0) first_bogus = host.host + ": " + host.tlsa.detail;
    } else if (host.tlsa.status == DnsStatus::Failed) {
      if (failed++ == 0) first_failed = host.host + ": " + host.tlsa.detail;
    } else if (host.tlsa.dnssec == DnssecStatus::Secure && host.usable > 0) {
      ++usable;
    }
  }
  const std::size_t n = out.hosts.size();
  if (bogus > 0) {
    out.state = DaneState::Bogus;
    out.detail = fmt::format("TLSA answer is DNSSEC bogus for {} of {} MX hosts ({})", bogus, n, first_bogus);
  } else if (usable > 0) {
    out.state = DaneState::Usable;
    out.detail = fmt::format("secure MX RRset, usable TLSA records for {} of {} MX hosts", usable, n);
  } else if (failed > 0) {
    out.state = DaneState::TlsaFailed;
    out.detail = fmt::format("secure MX RRset, TLSA lookup failed for {} of {} MX hosts ({})", failed, n,
                             first_failed);
  } else {
    out.state = DaneState::NoTlsa;
    out.detail = fmt::format("secure MX RRset, no usable secure TLSA records for its {} MX hosts", n);
  }
  const bool retry_soon = out.state == DaneState::Bogus || out.state == DaneState::TlsaFailed;
  out.ttl = retry_soon ? MinDaneTtl : boundedTtl(ttl);
}

RequestHandle checkDane(net::DnsClient& dns, const std::string& domain, std::function<void(DaneOutcome)> done) {
  auto state = std::make_shared<CheckState>();
  state->dns = &dns;
  state->done = std::move(done);
  std::weak_ptr<CheckState> weak = state;
  state->mx_lookup = dns.lookupMx(domain, [weak, domain](net::MxAnswer answer) {
    auto live = weak.lock();
    if (!live || live->cancelled) return;
    live->outcome.mx = std::move(answer);
    daneFromMx(live->outcome, domain);
    if (live->outcome.state != DaneState::Unchecked) return finish(live);
    startTlsaLookups(live);
  });
  return std::make_unique<CheckHandle>(std::move(state));
}

bool daneApplies(DaneState state) noexcept {
  return state == DaneState::Usable || state == DaneState::Bogus || state == DaneState::TlsaFailed;
}

postfix::PolicyAnswer::Kind daneVerdict(DaneState state, bool sts_enforced, bool dane_without_sts) noexcept {
  using Kind = postfix::PolicyAnswer::Kind;
  if (!daneApplies(state)) return sts_enforced ? Kind::Enforce : Kind::NoPolicy;
  if (sts_enforced) return Kind::DaneOnly;
  return dane_without_sts ? Kind::Dane : Kind::NoPolicy;
}

}  // namespace mtasts::policy
