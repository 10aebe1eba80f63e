#include "net/https_exchange.hpp"

#include "common/domain.hpp"
#include "common/log.hpp"
#include "net/callback_guard.hpp"
#include "net/timeval.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace mtasts::net {

std::string opensslReason(unsigned long err) {
  const char* reason = ERR_reason_error_string(err);
  return reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", err);
}

namespace {

// A certificate failure says more than "connection refused" on another address: keep it.
int rank(HttpsErrorKind kind) { return kind == HttpsErrorKind::TlsCertificate ? 1 : 0; }

// SSL_set_tlsext_host_name is a macro with a C cast inside.
int setSni(SSL* ssl, const char* host) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
  return static_cast<int>(SSL_set_tlsext_host_name(ssl, host));
#pragma GCC diagnostic pop
}

bool isPrintablePath(std::string_view path) {
  return !path.empty() && path.front() == '/' &&
         std::all_of(path.begin(), path.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Header names are tokens, values printable (a CR or LF would let a value add a header);
// the fields the client writes itself may not be given twice.
bool isValidHeader(const std::pair<std::string, std::string>& h) {
  const std::string name = lowerAscii(h.first);
  if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar)) return false;
  if (name == "host" || name == "content-length" || name == "connection" ||
      name == "transfer-encoding" || name == "user-agent") {
    return false;
  }
  return std::all_of(h.second.begin(), h.second.end(),
                     [](char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); });
}

}  // namespace

HttpsExchange::HttpsExchange(OpensslHttpsClient* client, HttpsRequest request, HttpsClient::Callback done)
    : client_(client), request_(std::move(request)), done_(std::move(done)) {
  client_->live_.insert(this);
  timer_.reset(evtimer_new(client_->base_, &HttpsExchange::onTimer, this));
  deliver_ev_.reset(evtimer_new(client_->base_, &HttpsExchange::onDeliver, this));
  if (!timer_ || !deliver_ev_) throw std::bad_alloc();
}

void HttpsExchange::detach() noexcept {
  if (client_ == nullptr) return;
  std::exchange(client_, nullptr)->live_.erase(this);
  closeConnection();
  evtimer_del(timer_.get());
  evtimer_del(deliver_ev_.get());
  done_ = nullptr;
}

void HttpsExchange::start() noexcept {
  starting_ = true;
  deadline_ = SteadyClock::now() + request_.timeout;
  if (!isValidHostname(request_.host) || !isPrintablePath(request_.path)) {
    finish(failure(HttpsErrorKind::Request, "invalid host or path"));
  } else if (!std::all_of(request_.headers.begin(), request_.headers.end(), isValidHeader)) {
    finish(failure(HttpsErrorKind::Request, "invalid or reserved request header"));
  } else if (request_.addresses.empty()) {
    finish(failure(HttpsErrorKind::Request, "no addresses to connect to"));
  } else {
    nextAttempt();
  }
  starting_ = false;
}

HttpsResult HttpsExchange::failure(HttpsErrorKind kind, std::string detail) {
  HttpsResult r;
  r.error = HttpsError{kind, std::move(detail)};
  return r;
}

void HttpsExchange::closeConnection() noexcept {
  connect_ev_.reset();
  connecting_.reset();
  if (bev_ != nullptr) bufferevent_free(std::exchange(bev_, nullptr));  // frees the SSL too
  ssl_ = nullptr;
  parser_.reset();
}

// A transport or TLS failure on the current address: remember it, try the next one.
void HttpsExchange::attemptFailed(HttpsErrorKind kind, std::string detail) noexcept {
  moduleLogger("https")->debug("https attempt failed host={} address={} error={}",
                               request_.host, escapeForLog(address_), escapeForLog(detail));
  if (!best_ || rank(kind) >= rank(best_->kind)) {
    best_ = HttpsError{kind, fmt::format("{} ({})", detail, address_)};
  }
  nextAttempt();
}

void HttpsExchange::nextAttempt() noexcept {
  closeConnection();
  evtimer_del(timer_.get());
  while (next_ < request_.addresses.size()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - SteadyClock::now());
    if (left.count() <= 0) break;
    address_ = request_.addresses[next_++];
    // The remaining time is shared fairly among the addresses still to try.
    auto budget = left / static_cast<long>(request_.addresses.size() - next_ + 1);
    if (auto error = connect()) {
      if (!best_) best_ = std::move(*error);
      continue;
    }
    timeval tv = toTimeval(budget);
    evtimer_add(timer_.get(), &tv);
    return;
  }
  if (best_ && next_ >= request_.addresses.size()) {
    HttpsResult result;
    result.error = std::move(best_);
    finish(std::move(result));
  } else {
    finish(failure(HttpsErrorKind::Timeout, fmt::format("timeout after {} ms", request_.timeout.count())));
  }
}

// Starts the TCP connect and TLS handshake to address_; returns why it could not.
std::optional<HttpsError> HttpsExchange::connect() noexcept {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string numeric = address_;
  if (numeric.size() > 2 && numeric.front() == '[' && numeric.back() == ']') {
    numeric = numeric.substr(1, numeric.size() - 2);
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, numeric.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(request_.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, numeric.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(request_.port);
    len = sizeof(sockaddr_in6);
  } else {
    return HttpsError{HttpsErrorKind::Request, fmt::format("not a numeric address: {}", escapeForLog(address_))};
  }
  // TCP connect first on a plain socket: its errno (refused, unreachable) survives,
  // which it does not once the socket is inside a bufferevent_openssl.
  connecting_.reset(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!connecting_) {
    return HttpsError{HttpsErrorKind::Connect, fmt::format("socket: {}", evutil_socket_error_to_string(errno))};
  }
  if (::connect(connecting_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    std::string why = fmt::format("connect failed: {}", evutil_socket_error_to_string(errno));
    closeConnection();
    return HttpsError{HttpsErrorKind::Connect, std::move(why)};
  }
  connect_ev_.reset(event_new(client_->base_, connecting_.get(), EV_WRITE, &HttpsExchange::onConnected, this));
  if (!connect_ev_) {
    closeConnection();
    return HttpsError{HttpsErrorKind::Connect, "event_new failed"};
  }
  event_add(connect_ev_.get(), nullptr);
  return std::nullopt;
}

void HttpsExchange::onConnected(evutil_socket_t fd, short, void* arg) noexcept {
  auto* self = static_cast<HttpsExchange*>(arg);
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  self->connect_ev_.reset();
  if (error != 0) {
    self->attemptFailed(HttpsErrorKind::Connect,
                        fmt::format("connect failed: {}", evutil_socket_error_to_string(error)));
    return;
  }
  if (std::string why = self->startTls(); !why.empty()) {
    self->attemptFailed(HttpsErrorKind::TlsOther, why);
  }
}

// Wraps the connected socket in TLS; the handshake result arrives in onEvent().
std::string HttpsExchange::startTls() noexcept {
  ERR_clear_error();
  SSL* ssl = SSL_new(client_->ctx_.get());
  if (ssl == nullptr) return "SSL_new failed";
  // SNI and the DNS-ID to verify: the policy host, never the address.
  if (setSni(ssl, request_.host.c_str()) != 1 ||
      SSL_set1_host(ssl, request_.host.c_str()) != 1) {
    SSL_free(ssl);
    return "cannot set the TLS host name";
  }
  // RFC 8461 3.3 -> RFC 6125: the name must be a DNS-ID (subjectAltName). OpenSSL would
  // otherwise fall back to the subject CN of a certificate without DNS names.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  bev_ = bufferevent_openssl_socket_new(client_->base_, connecting_.get(), ssl, BUFFEREVENT_SSL_CONNECTING,
                                        BEV_OPT_CLOSE_ON_FREE);
  if (bev_ == nullptr) {
    SSL_free(ssl);
    return "cannot create a TLS connection";
  }
  (void)connecting_.release();  // owned by bev_ now
  ssl_ = ssl;
  // Servers often close without close_notify; body framing is checked by the parser.
  bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  bufferevent_setcb(bev_, &HttpsExchange::onRead, nullptr, &HttpsExchange::onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  tls_up_ = false;
  parser_.emplace(request_.max_body, request_.max_header_bytes);
  return {};
}

void HttpsExchange::sendRequest() {
  const bool post = request_.method == HttpMethod::Post;
  std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n", post ? "POST" : "GET",
                                request_.path, request_.host, client_->user_agent_);
  for (const auto& [name, value] : request_.headers) req += fmt::format("{}: {}\r\n", name, value);
  if (post) req += fmt::format("Content-Length: {}\r\n", request_.body.size());
  req += "Connection: close\r\n\r\n";
  bufferevent_write(bev_, req.data(), req.size());
  if (post) bufferevent_write(bev_, request_.body.data(), request_.body.size());
}

void HttpsExchange::onEvent(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<HttpsExchange*>(arg);
  if (!callGuarded("https", "https event", [&] { self->handleEvent(what); })) {
    self->finish(failure(HttpsErrorKind::Protocol, "internal error"));
  }
}

void HttpsExchange::handleEvent(short what) {
  if ((what & BEV_EVENT_CONNECTED) != 0) {
    tls_up_ = true;
    sendRequest();
    return;
  }
  if ((what & BEV_EVENT_EOF) != 0 && tls_up_) {
    // Read the close state before draining: the drain may complete the response, and
    // then finish() resets ssl_ and the user callback may destroy *this.
    const bool clean = (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
    if (!drainInput()) return;  // finished: *this may be gone
    handleParser(parser_->finishEof(clean));
    return;
  }
  if (!tls_up_) {
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      attemptFailed(HttpsErrorKind::TlsCertificate, X509_verify_cert_error_string(verify));
      return;
    }
  }
  // Before the handshake completed it is a TLS failure; after it, the exchange broke off.
  const HttpsErrorKind kind = tls_up_ ? HttpsErrorKind::Protocol : HttpsErrorKind::TlsOther;
  std::string stage = tls_up_ ? "connection failed" : "TLS connect failed";
  int socket_error = EVUTIL_SOCKET_ERROR();
  unsigned long err = bufferevent_get_openssl_error(bev_);
  moduleLogger("https")->debug("connection event what={:#x} errno={} openssl={:#x}", what, socket_error, err);
  if (err != 0 && ERR_GET_LIB(err) != 0) {
    attemptFailed(kind, fmt::format("{}: {}", stage, opensslReason(err)));
  } else if (socket_error != 0 && (what & BEV_EVENT_ERROR) != 0) {
    attemptFailed(kind, fmt::format("{}: {}", stage, evutil_socket_error_to_string(socket_error)));
  } else {
    attemptFailed(kind, fmt::format("{}: connection closed or reset", stage));
  }
}

void HttpsExchange::onRead(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<HttpsExchange*>(arg);
  if (!callGuarded("https", "https read", [&] { self->drainInput(); })) {
    self->finish(failure(HttpsErrorKind::Protocol, "internal error"));
  }
}

// Feeds everything buffered to the parser. Returns true once the buffer is empty and the
// response still incomplete; false once the fetch finished (after which *this may already
// be destroyed by the user callback: the caller returns at once).
bool HttpsExchange::drainInput() {
  if (bev_ == nullptr || !parser_) return false;  // no connection: nothing to read
  char buf[16 * 1024];
  for (;;) {
    std::size_t n = bufferevent_read(bev_, buf, sizeof buf);
    if (n == 0) return true;
    if (!handleParser(parser_->feed(std::string_view(buf, n)))) return false;
  }
}

// Returns true while the response is still being read; false once the exchange finished
// (after which *this may already be destroyed by the user callback).
bool HttpsExchange::handleParser(HttpResponseParser::State state) {
  using State = HttpResponseParser::State;
  if (state == State::HeadersReady) {
    if (request_.read_body) {
      HttpsResult head;
      head.response.status = parser_->status();
      for (const auto& [name, value] : parser_->headers()) head.response.headers.emplace_back(lowerAscii(name), value);
      if (!request_.read_body(head.response)) {
        head.response.body_skipped = true;
        finish(std::move(head));
        return false;
      }
    }
    state = parser_->resume();
  }
  if (state == State::Failed) {
    finish(failure(parser_->tooLarge() ? HttpsErrorKind::TooLarge : HttpsErrorKind::Protocol, parser_->error()));
    return false;
  }
  if (state == State::Complete) {
    HttpsResult done;
    done.response.status = parser_->status();
    for (const auto& [name, value] : parser_->headers()) done.response.headers.emplace_back(lowerAscii(name), value);
    done.response.body = parser_->body();
    finish(std::move(done));
    return false;
  }
  return true;
}

// The current attempt used up its share of the time; the detail says how long we waited.
void HttpsExchange::onTimer(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<HttpsExchange*>(arg);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(self->deadline_ - SteadyClock::now());
  auto spent = self->request_.timeout - std::max(left, std::chrono::milliseconds(0));
  self->attemptFailed(HttpsErrorKind::Timeout, fmt::format("timeout after {} ms", spent.count()));
}

void HttpsExchange::finish(HttpsResult result) noexcept {
  closeConnection();
  evtimer_del(timer_.get());
  result_ = std::move(result);
  if (starting_) {
    timeval zero{};
    evtimer_add(deliver_ev_.get(), &zero);  // never call back from inside fetch()
  } else {
    deliver();
  }
}

void HttpsExchange::onDeliver(evutil_socket_t, short, void* arg) noexcept {
  static_cast<HttpsExchange*>(arg)->deliver();
}

void HttpsExchange::deliver() noexcept {
  if (client_ == nullptr) return;
  std::exchange(client_, nullptr)->live_.erase(this);
  auto done = std::move(done_);
  done_ = nullptr;
  if (!done) return;
  // May destroy *this: nothing after this line.
  (void)callGuarded("https", "https callback", [&] { done(std::move(result_)); });
}

}  // namespace mtasts::net
