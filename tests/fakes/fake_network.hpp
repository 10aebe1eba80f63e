// Fakes for net::DnsClient and net::HttpsClient: answers come from tables the test fills;
// nothing is delivered until deliver() (so callbacks are never synchronous, as the real
// ones); names in `silent` never answer. Every query is counted.
#pragma once

#include "net/dns_client.hpp"
#include "common/tlsrpt_result_type.hpp"
#include "net/https_client.hpp"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mtasts::testing {

// A queue of pending callbacks shared by both fakes, so one deliver() settles everything.
class FakeQueue {
 public:
  RequestHandle push(std::function<void()> fn) {
    auto item = std::make_shared<std::function<void()>>(std::move(fn));
    items_.push_back(item);
    return std::make_unique<Handle>(item);
  }
  // Kept aside until releaseHeld(): deliver() does not run it (a slow server).
  RequestHandle pushHeld(std::function<void()> fn) {
    auto item = std::make_shared<std::function<void()>>(std::move(fn));
    held_.push_back(item);
    return std::make_unique<Handle>(item);
  }
  void releaseHeld() {
    items_.insert(items_.end(), held_.begin(), held_.end());
    held_.clear();
  }
  // Runs until no callback is pending; returns how many ran.
  int deliver() {
    int ran = 0;
    while (!items_.empty()) {
      auto batch = std::move(items_);
      items_.clear();
      for (auto& item : batch) {
        if (!*item) continue;
        auto fn = std::move(*item);
        *item = nullptr;
        fn();
        ++ran;
      }
    }
    return ran;
  }
  std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& i : items_) n += *i ? 1u : 0u;
    return n;
  }

 private:
  class Handle final : public PendingOperation {
   public:
    explicit Handle(std::weak_ptr<std::function<void()>> i) : item_(std::move(i)) {}
    ~Handle() override { cancel(); }
    void cancel() noexcept override {
      if (auto i = item_.lock()) *i = nullptr;
    }

   private:
    std::weak_ptr<std::function<void()>> item_;
  };
  std::vector<std::shared_ptr<std::function<void()>>> items_;
  std::vector<std::shared_ptr<std::function<void()>>> held_;
};

class FakeDnsClient final : public net::DnsClient {
 public:
  explicit FakeDnsClient(FakeQueue& q) : queue_(q) {}

  std::map<std::string, net::TxtAnswer> txt;
  std::map<std::string, net::MxAnswer> mx;
  std::map<std::string, net::TlsaAnswer> tlsa;
  std::map<std::string, net::AddressAnswer> addresses;
  std::set<std::string> silent;
  std::map<std::string, int> queries;  // "TXT name", "MX name", "TLSA name", "A name"
  bool validates = false;              // what validatesDnssec() says

  void setTxt(const std::string& name, std::vector<std::vector<std::string>> records) {
    txt[name] = ok<net::TxtAnswer>(&net::TxtAnswer::records, std::move(records));
  }
  void setTxtStatus(const std::string& name, net::DnsStatus status, std::string detail = "") {
    txt[name] = withStatus<net::TxtAnswer>(status, std::move(detail));
  }
  void setMx(const std::string& name, std::vector<net::MxRecord> records) {
    mx[name] = ok<net::MxAnswer>(&net::MxAnswer::records, std::move(records));
  }
  void setTlsa(const std::string& name, std::vector<net::TlsaRecord> records,
               net::DnssecStatus dnssec = net::DnssecStatus::Unchecked) {
    tlsa[name] = ok<net::TlsaAnswer>(&net::TlsaAnswer::records, std::move(records));
    tlsa[name].dnssec = dnssec;
  }
  void setAddress(const std::string& name, std::string address) {
    addresses[name] = ok<net::AddressAnswer>(&net::AddressAnswer::addresses, std::vector<std::string>{std::move(address)});
  }

  RequestHandle lookupTxt(const std::string& name, TxtCallback done) override {
    return answer("TXT", name, txt, std::move(done));
  }
  RequestHandle lookupMx(const std::string& name, MxCallback done) override {
    return answer("MX", name, mx, std::move(done));
  }
  RequestHandle lookupTlsa(const std::string& name, TlsaCallback done) override {
    return answer("TLSA", name, tlsa, std::move(done));
  }
  RequestHandle lookupAddresses(const std::string& name, AddressCallback done) override {
    return answer("A", name, addresses, std::move(done));
  }
  bool validatesDnssec() const override { return validates; }

 private:
  template <typename Answer, typename Records>
  static Answer ok(Records Answer::*field, Records records) {
    Answer a;
    a.status = net::DnsStatus::Ok;
    a.*field = std::move(records);
    return a;
  }
  template <typename Answer>
  static Answer withStatus(net::DnsStatus status, std::string detail) {
    Answer a;
    a.status = status;
    a.detail = std::move(detail);
    return a;
  }
  // A name nobody set has no record; a silent one never answers.
  template <typename Answer, typename Callback>
  RequestHandle answer(const char* type, const std::string& name, const std::map<std::string, Answer>& table,
                       Callback done) {
    ++queries[std::string(type) + " " + name];
    if (silent.count(name)) return queue_.push(nullptr);
    Answer a = withStatus<Answer>(net::DnsStatus::NoRecord, "");
    if (auto it = table.find(name); it != table.end()) a = it->second;
    return queue_.push([done = std::move(done), a]() mutable { done(std::move(a)); });
  }

  FakeQueue& queue_;
};

class FakeHttpsClient final : public net::HttpsClient {
 public:
  explicit FakeHttpsClient(FakeQueue& q) : queue_(q) {}

  std::map<std::string, net::HttpsResult> results;  // by host
  std::set<std::string> silent;
  std::set<std::string> held;  // answered only after the queue's releaseHeld()
  std::map<std::string, int> fetches;
  std::vector<net::HttpsRequest> requests;

  // A 200 text/plain response with this body.
  void setBody(const std::string& host, std::string body) {
    setResponse(host, 200, {{"content-type", "text/plain"}}, std::move(body));
  }
  void setResponse(const std::string& host, int status, net::HttpHeaders headers, std::string body) {
    net::HttpsResult r;
    r.response.status = status;
    r.response.headers = std::move(headers);
    r.response.body = std::move(body);
    results[host] = std::move(r);
  }
  void setError(const std::string& host, net::HttpsErrorKind kind, std::string detail) {
    net::HttpsResult r;
    r.error = net::HttpsError{kind, std::move(detail)};
    results[host] = std::move(r);
  }
  // A failure the MTA-STS rules read as `type`: a certificate error for sts-webpki-invalid,
  // a failed connection otherwise.
  void setFailure(const std::string& host, TlsRptResultType type, std::string detail) {
    setError(host, type == TlsRptResultType::StsWebpkiInvalid ? net::HttpsErrorKind::TlsCertificate
                                                              : net::HttpsErrorKind::Connect,
             std::move(detail));
  }

  RequestHandle send(net::HttpsRequest request, Callback done) override {
    ++fetches[request.host];
    requests.push_back(request);
    if (silent.count(request.host)) return queue_.push(nullptr);
    net::HttpsResult result;
    result.error = net::HttpsError{net::HttpsErrorKind::Connect, "connection refused"};
    if (auto it = results.find(request.host); it != results.end()) result = it->second;
    // As the real client: a head the caller does not want ends the exchange there.
    if (result.ok() && request.read_body) {
      net::HttpsResponse head = result.response;
      head.body.clear();
      if (!request.read_body(head)) {
        result.response.body.clear();
        result.response.body_skipped = true;
      }
    }
    auto answer = [done = std::move(done), result]() mutable { done(std::move(result)); };
    return held.count(request.host) ? queue_.pushHeld(std::move(answer)) : queue_.push(std::move(answer));
  }

 private:
  FakeQueue& queue_;
};

}  // namespace mtasts::testing
