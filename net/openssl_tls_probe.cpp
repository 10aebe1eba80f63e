#include "net/openssl_tls_probe.hpp"

#include "common/domain.hpp"
#include "common/log.hpp"
#include "net/callback_guard.hpp"
#include "net/https_exchange.hpp"
#include "net/smtp_reply.hpp"
#include "net/timeval.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <utility>

namespace mtasts::net {

std::string_view tlsProbeStageName(TlsProbeStage stage) noexcept {
  switch (stage) {
    case TlsProbeStage::Connect: return "connect";
    case TlsProbeStage::Greeting: return "greeting";
    case TlsProbeStage::Ehlo: return "EHLO";
    case TlsProbeStage::StartTls: return "STARTTLS";
    case TlsProbeStage::Handshake: return "TLS handshake";
    case TlsProbeStage::Done: return "done";
  }
  return "?";
}

namespace {

// QUIT is a courtesy: the result is known by then, so it gets little time.
constexpr std::chrono::milliseconds QuitWait{2'000};

// SSL_set_tlsext_host_name is a macro with a C cast inside.
int setSni(SSL* ssl, const char* host) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
  return static_cast<int>(SSL_set_tlsext_host_name(ssl, host));
#pragma GCC diagnostic pop
}

std::string replyText(const SmtpReply& reply) {
  return escapeForLog(fmt::format("{} {}", reply.code, reply.lines.empty() ? std::string() : reply.lines.front()), 160);
}

}  // namespace

// One probe (internal): owned by the caller's RequestHandle, registered with the prober.
class TlsProbeRun final : public PendingOperation {
 public:
  TlsProbeRun(OpensslTlsProber* prober, TlsProbeRequest request, TlsProber::Callback done)
      : prober_(prober), request_(std::move(request)), done_(std::move(done)) {
    prober_->live_.insert(this);
    timer_.reset(evtimer_new(prober_->base_, &TlsProbeRun::onTimer, this));
    deliver_ev_.reset(evtimer_new(prober_->base_, &TlsProbeRun::onDeliver, this));
    if (!timer_ || !deliver_ev_) throw std::bad_alloc();
  }
  ~TlsProbeRun() override { detach(); }
  TlsProbeRun(const TlsProbeRun&) = delete;
  TlsProbeRun& operator=(const TlsProbeRun&) = delete;

  void cancel() noexcept override { detach(); }

  void detach() noexcept {
    if (prober_ == nullptr) return;
    std::exchange(prober_, nullptr)->live_.erase(this);
    closeConnection();
    evtimer_del(timer_.get());
    evtimer_del(deliver_ev_.get());
    done_ = nullptr;
  }

  void start() noexcept {
    starting_ = true;
    if (auto why = connect(); !why.empty()) {
      failAt(TlsProbeStage::Connect, std::move(why));
    } else {
      timeval tv = toTimeval(request_.timeout);
      evtimer_add(timer_.get(), &tv);
    }
    starting_ = false;
  }

 private:
  std::string connect() noexcept {
    if (!isValidHostname(request_.host)) return "invalid host name";
    if (request_.mode == TlsProbeMode::SmtpStartTls && !isValidHostname(request_.ehlo_name)) {
      return "invalid EHLO name";
    }
    std::string spec = request_.address;
    if (spec.find(':') != std::string::npos && spec.front() != '[') spec = "[" + spec + "]";
    spec += fmt::format(":{}", request_.port);
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (evutil_parse_sockaddr_port(spec.c_str(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      return fmt::format("not a numeric address: {}", escapeForLog(request_.address));
    }
    fd_.reset(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return fmt::format("socket: {}", evutil_socket_error_to_string(errno));
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len)) != 0 &&
        errno != EINPROGRESS) {
      return fmt::format("connect failed: {}", evutil_socket_error_to_string(errno));
    }
    connect_ev_.reset(event_new(prober_->base_, fd_.get(), EV_WRITE, &TlsProbeRun::onConnected, this));
    if (!connect_ev_) return "event_new failed";
    event_add(connect_ev_.get(), nullptr);
    return {};
  }

  static void onConnected(evutil_socket_t fd, short, void* arg) noexcept {
    auto* self = static_cast<TlsProbeRun*>(arg);
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    self->connect_ev_.reset();
    if (error != 0) {
      self->failAt(TlsProbeStage::Connect, fmt::format("connect failed: {}", evutil_socket_error_to_string(error)));
      return;
    }
    if (self->request_.mode == TlsProbeMode::DirectTls) {
      self->startTls();
      return;
    }
    self->stage_ = TlsProbeStage::Greeting;
    self->bev_ = bufferevent_socket_new(self->prober_->base_, self->fd_.get(), 0);  // the fd stays ours
    if (self->bev_ == nullptr) {
      self->failAt(TlsProbeStage::Greeting, "cannot create a connection buffer");
      return;
    }
    bufferevent_setcb(self->bev_, &TlsProbeRun::onRead, nullptr, &TlsProbeRun::onEvent, self);
    bufferevent_enable(self->bev_, EV_READ | EV_WRITE);
  }

  // Wraps the connected socket in TLS; the handshake result arrives in onEvent().
  void startTls() noexcept {
    stage_ = TlsProbeStage::Handshake;
    ERR_clear_error();
    SSL* ssl = SSL_new(prober_->ctx_.get());
    if (ssl == nullptr) {
      failAt(stage_, "SSL_new failed");
      return;
    }
    if (setSni(ssl, request_.host.c_str()) != 1 || !collectVerifyProblems(ssl, &problems_)) {
      SSL_free(ssl);
      failAt(stage_, "cannot set up the TLS connection");
      return;
    }
    bev_ = bufferevent_openssl_socket_new(prober_->base_, fd_.get(), ssl, BUFFEREVENT_SSL_CONNECTING,
                                          BEV_OPT_CLOSE_ON_FREE);
    if (bev_ == nullptr) {
      SSL_free(ssl);
      failAt(stage_, "cannot create a TLS connection");
      return;
    }
    (void)fd_.release();  // owned by bev_ now
    ssl_ = ssl;
    bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
    bufferevent_setcb(bev_, &TlsProbeRun::onRead, nullptr, &TlsProbeRun::onEvent, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
  }

  void send(std::string_view command) {
    reader_.reset();
    bufferevent_write(bev_, command.data(), command.size());
  }

  static void onRead(bufferevent*, void* arg) noexcept {
    auto* self = static_cast<TlsProbeRun*>(arg);
    if (!callGuarded("tls-probe", "probe read", [&] { self->drain(); })) self->failAt(self->stage_, "internal error");
  }

  // Feeds what arrived to the reply reader; acts on a complete reply.
  void drain() {
    char buf[4096];
    for (;;) {
      const std::size_t n = bufferevent_read(bev_, buf, sizeof buf);
      if (n == 0) break;
      reader_.feed(std::string_view(buf, n));
    }
    if (quitting_) {  // any answer to QUIT will do
      if (reader_.state() != SmtpReplyReader::State::NeedMore) finish();
      return;
    }
    switch (reader_.state()) {
      case SmtpReplyReader::State::NeedMore:
        return;
      case SmtpReplyReader::State::Failed:
        failAt(stage_, "malformed reply: " + reader_.error());
        return;
      case SmtpReplyReader::State::Complete:
        break;
    }
    // Nothing is pipelined: a server that says more than the reply is broken, and after
    // STARTTLS's 220 such bytes would be taken for TLS-protected (RFC 3207, CVE-2011-0411).
    if (reader_.trailing() > 0) {
      failAt(stage_, fmt::format("{} bytes after the reply, before the next command", reader_.trailing()));
      return;
    }
    takeReply(reader_.reply());
  }

  void takeReply(const SmtpReply& reply) {
    switch (stage_) {
      case TlsProbeStage::Greeting:
        result_.greeting = replyText(reply);
        if (reply.code != 220) {
          failAt(stage_, "greeting " + replyText(reply));
          return;
        }
        stage_ = TlsProbeStage::Ehlo;
        send(fmt::format("EHLO {}\r\n", request_.ehlo_name));
        return;
      case TlsProbeStage::Ehlo:
        if (reply.code != 250) {
          failAt(stage_, "EHLO refused: " + replyText(reply));
        } else if (!ehloOffers(reply, "STARTTLS")) {
          result_.outcome = TlsProbeOutcome::NoStartTls;
          result_.stage = TlsProbeStage::Done;
          quit();
        } else {
          stage_ = TlsProbeStage::StartTls;
          send("STARTTLS\r\n");
        }
        return;
      case TlsProbeStage::StartTls:
        if (reply.code != 220) {
          failAt(stage_, "STARTTLS refused: " + replyText(reply));
          return;
        }
        bufferevent_disable(bev_, EV_READ | EV_WRITE);
        bufferevent_free(std::exchange(bev_, nullptr));  // not the socket: TLS goes on over it
        startTls();
        return;
      default:
        failAt(stage_, "unexpected data");
        return;
    }
  }

  void quit() {
    quitting_ = true;
    send("QUIT\r\n");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline() - SteadyClock::now());
    timeval tv = toTimeval(std::max(std::chrono::milliseconds(0), std::min(left, QuitWait)));
    evtimer_add(timer_.get(), &tv);
  }

  static void onEvent(bufferevent*, short what, void* arg) noexcept {
    auto* self = static_cast<TlsProbeRun*>(arg);
    if (!callGuarded("tls-probe", "probe event", [&] { self->handleEvent(what); })) {
      self->failAt(self->stage_, "internal error");
    }
  }

  void handleEvent(short what) {
    if ((what & BEV_EVENT_CONNECTED) != 0) {  // only the TLS bufferevent reports this
      result_.outcome = TlsProbeOutcome::TlsEstablished;
      result_.stage = TlsProbeStage::Done;
      result_.tls = tlsSessionFacts(ssl_, request_.host, std::move(problems_));
      if (request_.mode == TlsProbeMode::SmtpStartTls) {
        quit();
      } else {
        finish();
      }
      return;
    }
    if (quitting_) {  // the server closed after (or instead of) answering QUIT: fine
      finish();
      return;
    }
    const int socket_error = EVUTIL_SOCKET_ERROR();
    const unsigned long tls_error = ssl_ != nullptr ? bufferevent_get_openssl_error(bev_) : 0;
    std::string why;
    if (tls_error != 0 && ERR_GET_LIB(tls_error) != 0) {
      why = opensslReason(tls_error);
    } else if ((what & BEV_EVENT_ERROR) != 0 && socket_error != 0) {
      why = evutil_socket_error_to_string(socket_error);
    } else {
      why = "connection closed by the server";
    }
    failAt(stage_, stage_ == TlsProbeStage::Handshake ? "TLS handshake failed: " + why : why);
  }

  static void onTimer(evutil_socket_t, short, void* arg) noexcept {
    auto* self = static_cast<TlsProbeRun*>(arg);
    if (self->quitting_) {
      self->finish();
      return;
    }
    self->failAt(self->stage_, fmt::format("no answer within {} ms (at {})", self->request_.timeout.count(),
                                           tlsProbeStageName(self->stage_)));
  }

  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::time_point deadline() const { return started_ + request_.timeout; }

  void failAt(TlsProbeStage stage, std::string detail) noexcept {
    result_.outcome = TlsProbeOutcome::Failed;
    result_.stage = stage;
    result_.detail = std::move(detail);
    result_.tls = TlsSessionFacts{};
    finish();
  }

  void closeConnection() noexcept {
    connect_ev_.reset();
    if (bev_ != nullptr) bufferevent_free(std::exchange(bev_, nullptr));  // frees the SSL too
    ssl_ = nullptr;
    fd_.reset();
  }

  void finish() noexcept {
    closeConnection();
    evtimer_del(timer_.get());
    if (starting_) {
      timeval zero{};
      evtimer_add(deliver_ev_.get(), &zero);  // never call back from inside probe()
    } else {
      deliver();
    }
  }

  static void onDeliver(evutil_socket_t, short, void* arg) noexcept { static_cast<TlsProbeRun*>(arg)->deliver(); }

  void deliver() noexcept {
    if (prober_ == nullptr) return;
    std::exchange(prober_, nullptr)->live_.erase(this);
    auto done = std::move(done_);
    done_ = nullptr;
    if (!done) return;
    // May destroy *this: nothing after this line.
    (void)callGuarded("tls-probe", "probe callback", [&] { done(std::move(result_)); });
  }

  OpensslTlsProber* prober_;
  TlsProbeRequest request_;
  TlsProber::Callback done_;
  SteadyClock::time_point started_ = SteadyClock::now();
  TlsProbeStage stage_ = TlsProbeStage::Connect;
  UniqueFd fd_;           // until the TLS bufferevent owns it
  EventPtr connect_ev_;
  bufferevent* bev_ = nullptr;
  SSL* ssl_ = nullptr;    // owned by bev_
  SmtpReplyReader reader_;
  std::vector<std::string> problems_;
  bool quitting_ = false;
  bool starting_ = false;
  TlsProbeResult result_;
  EventPtr timer_;
  EventPtr deliver_ev_;
};

Result<std::unique_ptr<OpensslTlsProber>> OpensslTlsProber::create(event_base* base, const std::string& ca_file) {
  if (base == nullptr) return fail(ErrorCode::Internal, "no event_base");
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail(ErrorCode::Internal, "SSL_CTX_new failed");
  // Old servers must still be seen (and reported); OpenSSL's security level may refuse
  // them anyway, which then shows as a failed handshake.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                     : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (loaded != 1) {
    std::string why = opensslReason(ERR_get_error());
    ERR_clear_error();
    return fail(ErrorCode::Io, fmt::format("cannot load trusted CAs from {}: {}",
                                           ca_file.empty() ? "default paths" : ca_file, why));
  }
  return std::unique_ptr<OpensslTlsProber>(new OpensslTlsProber(base, std::move(ctx)));
}

OpensslTlsProber::~OpensslTlsProber() {
  while (!live_.empty()) (*live_.begin())->detach();
}

RequestHandle OpensslTlsProber::probe(TlsProbeRequest request, Callback done) {
  auto run = std::make_unique<TlsProbeRun>(this, std::move(request), std::move(done));
  run->start();
  return run;
}

}  // namespace mtasts::net
