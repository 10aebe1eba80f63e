#include "check/domain_check_gather.hpp"

#include "policy/policy_fetch.hpp"

#include <algorithm>
#include <utility>

namespace mtasts::check {
namespace {

// Sorted so that the report does not depend on the order of a DNS answer.
std::vector<std::string> firstAddresses(std::vector<std::string> addresses) {
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  if (addresses.size() > MaxProbedAddresses) addresses.resize(MaxProbedAddresses);
  return addresses;
}

// The MX hosts mail goes to, by preference: none for a failed lookup or a null MX, the
// domain itself when there is no MX record (RFC 5321 5.1, RFC 8461 4.2's implicit MX).
std::vector<MxHostFacts> mxHostsOf(const net::MxAnswer& answer, const std::string& domain) {
  std::vector<MxHostFacts> hosts;
  if (answer.status == net::DnsStatus::NoRecord) {
    hosts.push_back(MxHostFacts{0, domain, {}, {}});
    return hosts;
  }
  if (answer.status != net::DnsStatus::Ok) return hosts;
  std::vector<net::MxRecord> records = answer.records;
  std::sort(records.begin(), records.end(), [](const net::MxRecord& a, const net::MxRecord& b) {
    return a.preference != b.preference ? a.preference < b.preference : a.host < b.host;
  });
  for (const auto& r : records) {
    if (r.host.empty()) continue;  // the null MX "." is judged, not probed
    const bool seen = std::any_of(hosts.begin(), hosts.end(), [&](const MxHostFacts& h) { return h.host == r.host; });
    if (seen) continue;
    if (hosts.size() == MaxProbedMxHosts) break;
    hosts.push_back(MxHostFacts{r.preference, r.host, {}, {}});
  }
  return hosts;
}

}  // namespace

void DomainCheckGather::start(std::function<void(DomainFacts)> done) {
  done_ = std::move(done);
  facts_.domain = options_.domain;
  facts_.smtp_checked = options_.smtp;
  facts_.smtp_port = options_.smtp_port;
  const std::string& d = options_.domain;
  began();
  handles_.push_back(dns_.lookupTxt("_mta-sts." + d, [this](net::TxtAnswer a) {
    facts_.sts_txt = std::move(a);
    ended();
  }));
  began();
  handles_.push_back(dns_.lookupTxt("_smtp._tls." + d, [this](net::TxtAnswer a) {
    facts_.tlsrpt_txt = std::move(a);
    ended();
  }));
  began();
  handles_.push_back(dns_.lookupAddresses("mta-sts." + d, [this](net::AddressAnswer a) {
    policyHostAnswered(std::move(a));
    ended();
  }));
  began();
  handles_.push_back(dns_.lookupMx(d, [this](net::MxAnswer a) {
    mxAnswered(std::move(a));
    ended();
  }));
}

void DomainCheckGather::policyHostAnswered(net::AddressAnswer answer) {
  facts_.policy_host = std::move(answer);
  if (facts_.policy_host.status != net::DnsStatus::Ok || facts_.policy_host.addresses.empty()) return;
  const std::string host = "mta-sts." + options_.domain;
  const std::vector<std::string> addresses = firstAddresses(facts_.policy_host.addresses);
  facts_.policy_host_tls.resize(addresses.size());
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    facts_.policy_host_tls[i].address = addresses[i];
    net::TlsProbeRequest request;
    request.host = host;
    request.address = addresses[i];
    request.port = options_.https_port;
    request.mode = net::TlsProbeMode::DirectTls;
    request.timeout = options_.fetch_timeout;
    began();
    handles_.push_back(prober_.probe(std::move(request), [this, i](net::TlsProbeResult r) {
      facts_.policy_host_tls[i].result = std::move(r);
      ended();
    }));
  }
  policy::PolicyFetchRules rules;
  rules.timeout = options_.fetch_timeout;
  rules.max_policy_size = options_.max_policy_size;
  rules.port = options_.https_port;
  began();
  handles_.push_back(https_.send(policy::policyRequest(host, addresses, rules), [this](net::HttpsResult r) {
    facts_.fetch = std::move(r);
    ended();
  }));
}

void DomainCheckGather::mxAnswered(net::MxAnswer answer) {
  facts_.mx = std::move(answer);
  facts_.mx_hosts = mxHostsOf(facts_.mx, options_.domain);
  if (!options_.smtp) return;
  for (std::size_t i = 0; i < facts_.mx_hosts.size(); ++i) {
    began();
    handles_.push_back(dns_.lookupAddresses(facts_.mx_hosts[i].host, [this, i](net::AddressAnswer a) {
      mxHostAnswered(i, std::move(a));
      ended();
    }));
  }
}

void DomainCheckGather::mxHostAnswered(std::size_t index, net::AddressAnswer answer) {
  MxHostFacts& mx = facts_.mx_hosts[index];
  mx.addresses = std::move(answer);
  if (mx.addresses.status != net::DnsStatus::Ok) return;
  const std::vector<std::string> addresses = firstAddresses(mx.addresses.addresses);
  mx.probes.resize(addresses.size());
  for (std::size_t j = 0; j < addresses.size(); ++j) {
    mx.probes[j].address = addresses[j];
    net::TlsProbeRequest request;
    request.host = mx.host;
    request.address = addresses[j];
    request.port = options_.smtp_port;
    request.mode = net::TlsProbeMode::SmtpStartTls;
    request.ehlo_name = options_.ehlo_name;
    request.timeout = options_.smtp_timeout;
    began();
    handles_.push_back(prober_.probe(std::move(request), [this, index, j](net::TlsProbeResult r) {
      facts_.mx_hosts[index].probes[j].result = std::move(r);
      ended();
    }));
  }
}

void DomainCheckGather::ended() {
  if (--pending_ > 0 || !done_) return;
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(facts_));
}

}  // namespace mtasts::check
