#include "net/getdns_dns_client.hpp"

#include "common/log.hpp"
#include "net/c_handles.hpp"
#include "net/callback_guard.hpp"
#include "net/timeval.hpp"
#include "net/getdns_answer.hpp"
#include "net/getdns_dnssec_setup.hpp"

#include <arpa/inet.h>
#include <getdns/getdns.h>
#include <getdns/getdns_ext_libevent.h>

#include <fmt/format.h>

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <functional>
#include <cstring>
#include <new>
#include <optional>
#include <utility>

namespace mtasts::net {

// One outstanding getdns transaction. Owned by the caller's RequestHandle; registered
// with the client so that destroying the client detaches it (getdns cancelled, callback
// dropped). All completion paths end in deliver(), which runs from the loop only.
class DnsLookup : public PendingOperation {
 public:
  explicit DnsLookup(GetdnsDnsClient* client) : client_(client) {
    client_->live_.insert(this);
    guard_.reset(evtimer_new(client_->base_, &DnsLookup::onTimer, this));
    deliver_ev_.reset(evtimer_new(client_->base_, &DnsLookup::onTimer, this));
    if (!guard_ || !deliver_ev_) throw std::bad_alloc();
  }
  ~DnsLookup() override { detach(); }

  void cancel() noexcept override { detach(); }

  // Cancels the getdns transaction, disarms timers and forgets the client; idempotent.
  void detach() noexcept {
    if (client_ == nullptr) return;
    GetdnsDnsClient* client = std::exchange(client_, nullptr);
    client->live_.erase(this);
    if (in_flight_) {
      in_flight_ = false;
      getdns_cancel_callback(client->context_, transaction_);  // calls back with CANCEL
    }
    evtimer_del(guard_.get());
    evtimer_del(deliver_ev_.get());
    dropCallback();
  }

  // Starts the query (rrtype 0: A and AAAA through getdns_address) with `extensions` (owned
  // by the client, may be null) made for `mode`; any outcome (even a synchronous one) is
  // delivered from the loop.
  void start(const std::string& name, std::uint16_t rrtype, const getdns_dict* extensions = nullptr,
             DnssecMode mode = DnssecMode::Off) noexcept {
    std::chrono::milliseconds timeout = client_->timeout_;
    mode_ = mode;
    starting_ = true;
    getdns_return_t rc =
        rrtype == 0 ? getdns_address(client_->context_, name.c_str(), extensions, this, &transaction_,
                                     &DnsLookup::onGetdns)
                    : getdns_general(client_->context_, name.c_str(), rrtype, extensions, this, &transaction_,
                                     &DnsLookup::onGetdns);
    if (rc != GETDNS_RETURN_GOOD) {
      finishFailed(fmt::format("query not started: {}", getdns_get_errorstr_by_id(rc)));
    }
    starting_ = false;
    if (finished_) return;
    in_flight_ = true;
    // getdns bounds each upstream try; the guard also bounds retries and dropped packets.
    timeval tv = toTimeval(timeout + timeout / 10 + std::chrono::milliseconds(100));
    evtimer_add(guard_.get(), &tv);
  }

 protected:
  virtual void takeResponse(getdns_dict* response, const AnswerContext& context) = 0;
  virtual void takeFailure(std::string detail) = 0;
  virtual void invoke() = 0;  // runs the user callback; may destroy *this
  virtual void dropCallback() noexcept = 0;

 private:
  static void onGetdns(getdns_context*, getdns_callback_type_t type, getdns_dict* response,
                       void* userarg, getdns_transaction_t) noexcept {
    auto* self = static_cast<DnsLookup*>(userarg);
    if (type == GETDNS_CALLBACK_CANCEL || self->client_ == nullptr) {
      if (response != nullptr) getdns_dict_destroy(response);
      return;
    }
    self->in_flight_ = false;
    const bool parsed = callGuarded("dns", "dns answer", [&] {
      if (type == GETDNS_CALLBACK_COMPLETE && response != nullptr) {
        self->takeResponse(response, AnswerContext{self->client_->timeout_, self->mode_});
      } else if (type == GETDNS_CALLBACK_TIMEOUT) {
        self->takeFailure(fmt::format("timeout after {} ms", self->client_->timeout_.count()));
      } else {
        self->takeFailure("resolver error");
      }
    });
    if (!parsed) (void)callGuarded("dns", "dns answer", [&] { self->takeFailure("internal error"); });
    if (response != nullptr) getdns_dict_destroy(response);
    self->finished_ = true;
    self->scheduleDelivery();
  }

  void finishFailed(std::string detail) noexcept {
    try {
      takeFailure(std::move(detail));
    } catch (...) {
      // Out of memory building the detail: deliver the default Failed answer.
    }
    finished_ = true;
    scheduleDelivery();
  }

  void scheduleDelivery() noexcept {
    evtimer_del(guard_.get());
    if (starting_) {
      timeval zero{};
      evtimer_add(deliver_ev_.get(), &zero);  // never call back from inside lookupX()
    } else {
      deliver();
    }
  }

  static void onTimer(evutil_socket_t, short, void* arg) noexcept {
    auto* self = static_cast<DnsLookup*>(arg);
    if (self->client_ == nullptr) return;
    if (!self->finished_) {  // the guard fired: getdns did not answer in time
      GetdnsDnsClient* client = self->client_;
      self->in_flight_ = false;
      getdns_cancel_callback(client->context_, self->transaction_);
      self->finishFailed(fmt::format("timeout after {} ms", client->timeout_.count()));
      return;
    }
    self->deliver();
  }

  void deliver() noexcept {
    GetdnsDnsClient* client = std::exchange(client_, nullptr);
    client->live_.erase(this);
    // Last statement touching *this: the callback may destroy the handle.
    (void)callGuarded("dns", "dns callback", [this] { invoke(); });
  }

  GetdnsDnsClient* client_;
  DnssecMode mode_ = DnssecMode::Off;
  getdns_transaction_t transaction_ = 0;
  bool in_flight_ = false;
  bool starting_ = false;
  bool finished_ = false;
  EventPtr guard_;
  EventPtr deliver_ev_;
};

namespace {

template <typename Answer, typename Callback, auto Parse>
class TypedLookup final : public DnsLookup {
 public:
  TypedLookup(GetdnsDnsClient* client, Callback done) : DnsLookup(client), done_(std::move(done)) {}
  // Detach here, not only in ~DnsLookup: detach() calls dropCallback(), our override.
  ~TypedLookup() override { detach(); }

 protected:
  void takeResponse(getdns_dict* response, const AnswerContext& context) override {
    answer_ = Parse(response, context);
  }
  void takeFailure(std::string detail) override {
    answer_ = Answer{};
    answer_.status = DnsStatus::Failed;
    answer_.detail = std::move(detail);
  }
  void invoke() override {
    Callback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(answer_));
  }
  void dropCallback() noexcept override { done_ = nullptr; }

 private:
  Callback done_;
  Answer answer_;
};

using TxtLookup = TypedLookup<TxtAnswer, DnsClient::TxtCallback, &txtAnswerFromResponse>;
using MxLookup = TypedLookup<MxAnswer, DnsClient::MxCallback, &mxAnswerFromResponse>;
using TlsaLookup = TypedLookup<TlsaAnswer, DnsClient::TlsaCallback, &tlsaAnswerFromResponse>;
using AddressLookup =
    TypedLookup<AddressAnswer, DnsClient::AddressCallback, &addressAnswerFromResponse>;

using GetdnsDictPtr = CHandle<getdns_dict, &getdns_dict_destroy>;
using GetdnsListPtr = CHandle<getdns_list, &getdns_list_destroy>;
using GetdnsContextPtr = CHandle<getdns_context, &getdns_context_destroy>;

// An MX or TLSA lookup in TrustAd mode: the query asks for AD; when the validating upstream
// says SERVFAIL, the same query with CD tells a validation failure (it answers: Bogus) from
// a plain one (it fails too). Owns both lookups; destroying it cancels whichever runs (their
// callbacks then never run, so capturing `this` is safe). Loop thread.
template <typename Lookup, typename Answer>
class ProbedLookup final : public PendingOperation {
 public:
  using Callback = std::function<void(Answer)>;
  ProbedLookup(GetdnsDnsClient* client, std::string name, std::uint16_t rrtype, Callback done)
      : client_(client), name_(std::move(name)), rrtype_(rrtype), done_(std::move(done)) {}
  ~ProbedLookup() override { cancel(); }

  void start(const getdns_dict* query_ext, const getdns_dict* probe_ext) {
    probe_ext_ = probe_ext;
    first_ = std::make_unique<Lookup>(client_, [this](Answer answer) { onFirst(std::move(answer)); });
    first_->start(name_, rrtype_, query_ext, DnssecMode::TrustAd);
  }
  void cancel() noexcept override {
    done_ = nullptr;
    probe_.reset();
    first_.reset();
  }

 private:
  void onFirst(Answer answer) {
    if (!needsCheckingDisabledProbe(answer)) return finish(std::move(answer));
    first_answer_ = std::move(answer);
    probe_ = std::make_unique<Lookup>(client_, [this](Answer probe) {
      finish(withCheckingDisabledProbe(std::move(first_answer_), probe));
    });
    probe_->start(name_, rrtype_, probe_ext_, DnssecMode::TrustAd);
  }
  void finish(Answer answer) {
    Callback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(answer));  // last statement: the callback may destroy *this
  }

  GetdnsDnsClient* client_;
  std::string name_;
  std::uint16_t rrtype_;
  Callback done_;
  const getdns_dict* probe_ext_ = nullptr;
  Answer first_answer_;
  std::unique_ptr<Lookup> first_;
  std::unique_ptr<Lookup> probe_;
};

Result<void> check(getdns_return_t rc, const char* what) {
  if (rc == GETDNS_RETURN_GOOD) return {};
  return fail(ErrorCode::Internal, fmt::format("{}: {}", what, getdns_get_errorstr_by_id(rc)));
}

Result<void> setUpstreams(getdns_context* context, const std::vector<std::string>& servers) {
  GetdnsListPtr list(getdns_list_create());
  if (!list) return fail(ErrorCode::Internal, "getdns_list_create failed");
  for (std::size_t i = 0; i < servers.size(); ++i) {
    auto server = parseDnsServer(servers[i]);
    if (!server) return fail(server.error().code, server.error().detail);
    unsigned char bytes[16] = {};
    bool v6 = server->address.find(':') != std::string::npos;
    inet_pton(v6 ? AF_INET6 : AF_INET, server->address.c_str(), bytes);
    getdns_bindata type{4, reinterpret_cast<std::uint8_t*>(const_cast<char*>(v6 ? "IPv6" : "IPv4"))};
    getdns_bindata data{v6 ? 16u : 4u, bytes};
    GetdnsDictPtr dict(getdns_dict_create());
    if (!dict) return fail(ErrorCode::Internal, "getdns_dict_create failed");
    if (auto r = check(getdns_dict_set_bindata(dict.get(), "address_type", &type), "address_type"); !r) return r;
    if (auto r = check(getdns_dict_set_bindata(dict.get(), "address_data", &data), "address_data"); !r) return r;
    if (auto r = check(getdns_dict_set_int(dict.get(), "port", server->port), "port"); !r) return r;
    if (auto r = check(getdns_list_set_dict(list.get(), i, dict.get()), "upstream list"); !r) return r;
  }
  return check(getdns_context_set_upstream_recursive_servers(context, list.get()), "upstreams");
}

}  // namespace

Result<DnsServer> parseDnsServer(std::string_view text) {
  DnsServer server;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail(ErrorCode::InvalidInput, "missing ']' in DNS server");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(ErrorCode::InvalidInput, "junk after ']' in DNS server");
      port = rest.substr(1);
      if (port.empty()) return fail(ErrorCode::InvalidInput, "empty port in DNS server");
    }
  } else if (auto colon = text.find(':'); colon != std::string_view::npos &&
                                          text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return fail(ErrorCode::InvalidInput, "empty port in DNS server");
  }
  unsigned char buf[16];
  std::string host_str(host);
  if (inet_pton(AF_INET, host_str.c_str(), buf) != 1 && inet_pton(AF_INET6, host_str.c_str(), buf) != 1) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("DNS server is not a numeric address: {}", escapeForLog(text)));
  }
  server.address = std::move(host_str);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(ErrorCode::InvalidInput, fmt::format("bad DNS server port: {}", escapeForLog(port)));
    }
    server.port = static_cast<std::uint16_t>(value);
  }
  return server;
}

Result<std::unique_ptr<GetdnsDnsClient>> GetdnsDnsClient::create(event_base* base,
                                                                 const DnsOptions& options) {
  if (base == nullptr) return fail(ErrorCode::Internal, "no event_base");
  if (options.timeout.count() <= 0) return fail(ErrorCode::InvalidInput, "DNS timeout must be positive");
  getdns_context* raw = nullptr;
  // With explicit servers, do not depend on /etc/resolv.conf existing at all.
  if (auto r = check(getdns_context_create(&raw, options.servers.empty() ? 1 : 0), "getdns_context_create"); !r) {
    return fail(r.error().code, r.error().detail);
  }
  GetdnsContextPtr context(raw);
  auto timeout_ms = static_cast<std::uint64_t>(options.timeout.count());
  for (auto r : {check(getdns_context_set_resolution_type(raw, GETDNS_RESOLUTION_STUB), "stub mode"),
                 check(getdns_context_set_timeout(raw, timeout_ms), "timeout"),
                 check(getdns_extension_set_libevent_base(raw, base), "libevent extension")}) {
    if (!r) return fail(r.error().code, r.error().detail);
  }
  if (!options.servers.empty()) {
    if (auto r = setUpstreams(raw, options.servers); !r) return fail(r.error().code, r.error().detail);
  }
  std::unique_ptr<GetdnsDnsClient> client(new GetdnsDnsClient(base, context.release(), options.timeout));
  if (auto r = client->setUpDnssec(options); !r) return Unexpected{std::move(r).error()};
  return client;
}

GetdnsDnsClient::~GetdnsDnsClient() {
  while (!live_.empty()) (*live_.begin())->detach();
  if (query_ext_ != nullptr) getdns_dict_destroy(query_ext_);
  if (probe_ext_ != nullptr) getdns_dict_destroy(probe_ext_);
  getdns_context_destroy(context_);
}

Result<void> GetdnsDnsClient::setUpDnssec(const DnsOptions& options) {
  mode_ = DnssecMode::Off;
  if (options.dnssec == DnssecMode::Off) return {};
  GetdnsDictPtr query(getdns_dict_create());
  GetdnsDictPtr probe(getdns_dict_create());
  if (!query || !probe) return fail(ErrorCode::Internal, "getdns_dict_create failed");
  if (options.dnssec == DnssecMode::Validate) {
    if (auto r = loadTrustAnchors(context_, options.trust_anchor_file); !r) return r;
    // All statuses: a bogus reply comes back marked BOGUS instead of being left out (which
    // would read as NXDOMAIN).
    for (const char* key : {"dnssec_return_status", "dnssec_return_all_statuses"}) {
      if (auto r = check(getdns_dict_set_int(query.get(), key, GETDNS_EXTENSION_TRUE), key); !r) return r;
    }
  } else {
    if (auto loopback = upstreamsOnLoopback(context_); !loopback) {
      problem_ = loopback.error().detail;
      return {};  // warned by the owner; answers stay Unchecked, so no DANE verdicts
    }
    // RFC 6840 5.7: AD in the query asks for AD in the reply, without the RRSIGs DO would bring.
    for (getdns_dict* ext : {query.get(), probe.get()}) {
      if (auto r = check(getdns_dict_set_int(ext, "/header/ad", 1), "AD bit"); !r) return r;
    }
    if (auto r = check(getdns_dict_set_int(probe.get(), "/header/cd", 1), "CD bit"); !r) return r;
  }
  query_ext_ = query.release();
  probe_ext_ = probe.release();
  mode_ = options.dnssec;
  return {};
}

RequestHandle GetdnsDnsClient::lookupTxt(const std::string& name, TxtCallback done) {
  auto lookup = std::make_unique<TxtLookup>(this, std::move(done));
  lookup->start(name, GETDNS_RRTYPE_TXT);
  return lookup;
}

// MX and TLSA carry the DNSSEC status DANE needs (mode_); TXT and addresses never do.
template <typename Lookup, typename Answer, typename Callback>
RequestHandle GetdnsDnsClient::secureLookup(const std::string& name, std::uint16_t rrtype, Callback done) {
  if (mode_ == DnssecMode::TrustAd) {
    auto lookup = std::make_unique<ProbedLookup<Lookup, Answer>>(this, name, rrtype, std::move(done));
    lookup->start(query_ext_, probe_ext_);
    return lookup;
  }
  auto lookup = std::make_unique<Lookup>(this, std::move(done));
  lookup->start(name, rrtype, query_ext_, mode_);
  return lookup;
}

RequestHandle GetdnsDnsClient::lookupMx(const std::string& name, MxCallback done) {
  return secureLookup<MxLookup, MxAnswer>(name, GETDNS_RRTYPE_MX, std::move(done));
}

RequestHandle GetdnsDnsClient::lookupTlsa(const std::string& name, TlsaCallback done) {
  return secureLookup<TlsaLookup, TlsaAnswer>(name, GETDNS_RRTYPE_TLSA, std::move(done));
}

RequestHandle GetdnsDnsClient::lookupAddresses(const std::string& name, AddressCallback done) {
  auto lookup = std::make_unique<AddressLookup>(this, std::move(done));
  lookup->start(name, 0);
  return lookup;
}

}  // namespace mtasts::net
