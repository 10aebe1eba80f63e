#include "daemon/socketmap_connection.hpp"

#include "common/log.hpp"
#include "daemon/socketmap_server.hpp"
#include "postfix/netstring.hpp"
#include "postfix/verdict.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <algorithm>

namespace mtasts::daemon {
namespace {

using postfix::ReplyStatus;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("server");
  return logger;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

ReplyStatus replyStatusFor(const std::variant<Decision::Kind, ErrorCode>& outcome) {
  if (const auto* kind = std::get_if<Decision::Kind>(&outcome)) {
    switch (*kind) {
      case Decision::Kind::Enforce: return ReplyStatus::Ok;
      case Decision::Kind::NoPolicy: return ReplyStatus::NotFound;
      case Decision::Kind::TempFail: return ReplyStatus::Temp;
    }
    return ReplyStatus::Temp;
  }
  switch (std::get<ErrorCode>(outcome)) {
    case ErrorCode::InvalidInput: return ReplyStatus::Perm;  // the request itself is bad
    case ErrorCode::NotFound: return ReplyStatus::NotFound;
    case ErrorCode::Timeout: return ReplyStatus::Timeout;
    case ErrorCode::TooLarge:
    case ErrorCode::Temporary:
    case ErrorCode::Io:
    case ErrorCode::Internal: return ReplyStatus::Temp;
  }
  return ReplyStatus::Temp;
}

void appendReplyForDecision(std::string& out, const Decision& d, bool tlsrpt, std::size_t max_reply_size) {
  const ReplyStatus status = replyStatusFor(d.kind);
  if (status != ReplyStatus::Ok) return postfix::appendReply(out, status, d.reason);
  if (!d.policy) {
    return postfix::appendReply(out, replyStatusFor(ErrorCode::Internal), "internal error: enforce without policy");
  }
  postfix::StsVerdictInput in;
  in.policy_domain = d.domain;
  in.mx = &d.policy->mx;
  in.policy_lines = &d.policy->lines;
  const std::size_t base = out.size();
  for (auto flavour : {postfix::VerdictFlavour::TlsRpt, postfix::VerdictFlavour::Plain}) {
    if (flavour == postfix::VerdictFlavour::TlsRpt && !tlsrpt) continue;
    out.resize(base);
    postfix::appendReply(out, ReplyStatus::Ok, {});
    if (!postfix::appendStsVerdict(out, in, flavour)) continue;
    if (out.size() - base <= max_reply_size) return;
    log()->warn("verdict exceeds max_reply_size domain={} size={} max_reply_size={} flavour={}",
                escapeForLog(d.domain), out.size() - base, max_reply_size,
                flavour == postfix::VerdictFlavour::TlsRpt ? "tlsrpt" : "plain");
  }
  // No usable verdict: an enforce policy Postfix cannot take must not defer all mail to
  // the domain forever; answer as if there were no policy, loudly.
  out.resize(base);
  log()->warn("no usable verdict for policy, answering NOTFOUND domain={}", escapeForLog(d.domain));
  postfix::appendReply(out, ReplyStatus::NotFound, {});
}

std::string replyForDecision(const Decision& d, bool tlsrpt, std::size_t max_reply_size) {
  std::string out;
  appendReplyForDecision(out, d, tlsrpt, max_reply_size);
  return out;
}

SocketmapConnection::SocketmapConnection(SocketmapServer& server, bufferevent* bev, std::string peer)
    : server_(server), bev_(bev), peer_(std::move(peer)) {
  event_base* base = bufferevent_get_base(bev_);
  idle_timer_ = evtimer_new(base, &SocketmapConnection::idleTrampoline, this);
  resume_event_ = event_new(base, -1, 0, &SocketmapConnection::resumeTrampoline, this);
  bufferevent_setcb(bev_, &readTrampoline, &writeTrampoline, &eventTrampoline, this);
  const timeval write_tv = toTimeval(server_.limits_.write_timeout);
  bufferevent_set_timeouts(bev_, nullptr, &write_tv);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  armIdleTimer();
}

SocketmapConnection::~SocketmapConnection() {
  slots_.clear();  // cancels outstanding lookups before anything else goes away
  if (idle_timer_) event_free(idle_timer_);
  if (resume_event_) event_free(resume_event_);
  if (bev_) bufferevent_free(bev_);
}

std::size_t SocketmapConnection::outputLength() const {
  return evbuffer_get_length(bufferevent_get_output(bev_));
}

bool SocketmapConnection::finishedDraining() const {
  return draining_ && slots_.empty() && outputLength() == 0;
}

bool SocketmapConnection::beginDrain() {
  draining_ = true;
  bufferevent_disable(bev_, EV_READ);
  return finishedDraining();
}

void SocketmapConnection::closeSelf() { server_.closeConnection(this); }

void SocketmapConnection::armIdleTimer() {
  const timeval tv = toTimeval(server_.limits_.idle_timeout);
  evtimer_add(idle_timer_, &tv);
}

bool SocketmapConnection::processInput() {
  const ServerLimits& limits = server_.limits_;
  evbuffer* in = bufferevent_get_input(bev_);
  processing_ = true;
  bool keep = true;
  while (!draining_ && slots_.size() < limits.max_pipelined && outputLength() < limits.max_output_buffer) {
    const std::size_t available = evbuffer_get_length(in);
    if (available == 0) break;
    // A complete request of at most max_query_size bytes fits in this many bytes, so
    // "Incomplete" below really means "wait for more".
    const std::size_t window = std::min(available, limits.max_query_size + 32);
    const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ev_ssize_t>(window)));
    const auto decoded = postfix::decodeNetstring(std::string_view(data, window), limits.max_query_size);
    if (decoded.status == postfix::NetstringStatus::Incomplete) break;
    if (decoded.status != postfix::NetstringStatus::Complete) {
      log()->warn("closing connection: {} peer={} max_query_size={}",
                  decoded.status == postfix::NetstringStatus::TooLong ? "request too long" : "malformed netstring",
                  peer_, limits.max_query_size);
      keep = false;
      break;
    }
    // The payload points into the input buffer, which nothing touches before the drain.
    startRequest(decoded.payload);
    evbuffer_drain(in, decoded.consumed);
  }
  processing_ = false;
  input_started_ = evbuffer_get_length(in) > 0;
  if (!keep) return false;
  flushReplies();
  updateFlowControl();
  return true;
}

void SocketmapConnection::startRequest(std::string_view payload) {
  evtimer_del(idle_timer_);
  Slot* slot = newSlot();
  auto request = postfix::parseSocketmapRequest(payload);
  if (!request) {
    log()->info("bad request peer={} error={} request={}", peer_, escapeForLog(request.error().detail),
                escapeForLog(payload, 100));
    postfix::appendReply(slot->reply, replyStatusFor(ErrorCode::InvalidInput),
                         "invalid request: expected \"<mapname> <key>\"");
    complete(slot);
    return;
  }
  auto key = postfix::normalizePolicyKey(request->key);
  if (key.domain.empty()) {
    log()->debug("not looked up peer={} key={} reason={}", peer_, escapeForLog(request->key), key.skip_reason);
    postfix::appendReply(slot->reply, ReplyStatus::NotFound, {});
    complete(slot);
    return;
  }
  const auto& names = server_.limits_.tlsrpt_map_names;
  const bool tlsrpt = std::find(names.begin(), names.end(), request->map_name) != names.end();
  slot->connection = this;
  slot->tlsrpt = tlsrpt;
  // Capturing the slot alone keeps the callback inside std::function's local storage.
  auto handle = server_.source_.lookup(key.domain, [slot](const Decision& decision) {
    SocketmapConnection& self = *slot->connection;
    appendReplyForDecision(slot->reply, decision, slot->tlsrpt, self.server_.limits_.max_reply_size);
    self.complete(slot);
  });
  if (!slot->done) slot->handle = std::move(handle);
}

// Slots are reused, so a steady stream of requests allocates neither a slot nor, once its
// capacity has grown, a reply string. The pool is small: a burst's slots are freed.
SocketmapConnection::Slot* SocketmapConnection::newSlot() {
  std::unique_ptr<Slot> owned;
  if (free_slots_.empty()) {
    owned = std::make_unique<Slot>();
  } else {
    owned = std::move(free_slots_.back());
    free_slots_.pop_back();
  }
  Slot* slot = owned.get();
  slots_.push_back(std::move(owned));
  return slot;
}

void SocketmapConnection::recycle(std::unique_ptr<Slot> slot) {
  if (free_slots_.size() >= MaxFreeSlots) return;
  slot->handle.reset();
  slot->done = false;
  slot->tlsrpt = false;
  slot->connection = nullptr;
  slot->reply.clear();
  free_slots_.push_back(std::move(slot));
}

void SocketmapConnection::complete(Slot* slot) {
  slot->done = true;
  // Inside processInput() the loop flushes at its end; otherwise we may be inside the
  // source's callback and must not destroy its handle: flush from our own event.
  if (!processing_) event_active(resume_event_, EV_TIMEOUT, 0);
}

void SocketmapConnection::flushReplies() {
  framed_.clear();  // keeps its capacity from one flush to the next
  bool answered = false;
  while (!slots_.empty() && slots_.front()->done) {
    postfix::appendNetstring(framed_, slots_.front()->reply);
    recycle(std::move(slots_.front()));
    slots_.pop_front();
    answered = true;
  }
  if (!framed_.empty()) writeOut(framed_);
  // Idle from the last answer; flushing nothing must not restart the clock.
  if (answered && slots_.empty() && !draining_) armIdleTimer();
}

// With nothing queued, the replies go straight to the socket: a bufferevent write would
// add and then delete the write event (two epoll_ctl calls per reply) and wait a loop
// turn. Only what the socket does not take is queued, in order, behind write_timeout.
void SocketmapConnection::writeOut(std::string_view framed) {
  std::size_t sent = 0;
  if (outputLength() == 0) {
    const ssize_t n = ::send(bufferevent_getfd(bev_), framed.data(), framed.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    // On an error nothing was sent: the bufferevent meets the same error and reports it.
    if (n > 0) sent = static_cast<std::size_t>(n);
  }
  if (sent < framed.size()) bufferevent_write(bev_, framed.data() + sent, framed.size() - sent);
}

void SocketmapConnection::updateFlowControl() {
  const ServerLimits& limits = server_.limits_;
  const bool must_pause = draining_ || slots_.size() >= limits.max_pipelined ||
                          outputLength() >= limits.max_output_buffer;
  if (must_pause && !reading_paused_) {
    reading_paused_ = true;
    bufferevent_disable(bev_, EV_READ);
    if (!draining_)
      log()->debug("reading paused peer={} pending={} unsent={}", peer_, slots_.size(), outputLength());
  } else if (!must_pause && reading_paused_) {
    reading_paused_ = false;
    bufferevent_enable(bev_, EV_READ);
    // Requests already buffered produce no new read event: process them from our event.
    if (evbuffer_get_length(bufferevent_get_input(bev_)) > 0) event_active(resume_event_, EV_TIMEOUT, 0);
  }
}

bool SocketmapConnection::onRead() {
  // The first byte of a request starts its deadline; later bytes of the same request do not
  // extend it (a slowloris trickling one byte a second is closed at idle_timeout).
  if (slots_.empty() && !input_started_) armIdleTimer();
  return processInput();
}

bool SocketmapConnection::onResume() {
  flushReplies();
  if (!draining_ && !reading_paused_ && !processInput()) return false;
  if (reading_paused_) updateFlowControl();
  return !finishedDraining();
}

bool SocketmapConnection::onWrite() {
  if (finishedDraining()) return false;
  updateFlowControl();
  return true;
}

bool SocketmapConnection::onEvent(short what) {
  if (what & BEV_EVENT_TIMEOUT) {
    log()->warn("closing connection: write timeout peer={} unsent={}", peer_, outputLength());
    return false;
  }
  if (what & BEV_EVENT_EOF) {
    // Socketmap has no half-close: a client that closed will not read its answers, so
    // its outstanding lookups are cancelled with the connection.
    log()->debug("client closed peer={} pending={}", peer_, slots_.size());
    return false;
  }
  if (what & BEV_EVENT_ERROR) {
    log()->debug("closing connection: socket error peer={} error={}", peer_,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return false;
  }
  return true;
}

#define MTASTS_CONNECTION_TRAMPOLINE(call)                                              \
  auto* self = static_cast<SocketmapConnection*>(arg);                                  \
  bool keep = false;                                                                    \
  try {                                                                                 \
    keep = self->call;                                                                  \
  } catch (const std::exception& e) {                                                   \
    log()->error("closing connection: internal error peer={} error={}", self->peer_,    \
                 escapeForLog(e.what()));                                               \
  }                                                                                     \
  if (!keep) self->closeSelf();

void SocketmapConnection::readTrampoline(bufferevent*, void* arg) noexcept {
  MTASTS_CONNECTION_TRAMPOLINE(onRead());
}
void SocketmapConnection::writeTrampoline(bufferevent*, void* arg) noexcept {
  MTASTS_CONNECTION_TRAMPOLINE(onWrite());
}
void SocketmapConnection::eventTrampoline(bufferevent*, short what, void* arg) noexcept {
  MTASTS_CONNECTION_TRAMPOLINE(onEvent(what));
}
void SocketmapConnection::resumeTrampoline(int, short, void* arg) noexcept {
  MTASTS_CONNECTION_TRAMPOLINE(onResume());
}
void SocketmapConnection::idleTrampoline(int, short, void* arg) noexcept {
  auto* self = static_cast<SocketmapConnection*>(arg);
  if (!self->slots_.empty()) return;  // a request is in flight: not idle
  if (self->outputLength() > 0) {
    self->armIdleTimer();  // replies still unsent: write_timeout decides, look again later
    return;
  }
  const std::size_t buffered = evbuffer_get_length(bufferevent_get_input(self->bev_));
  if (buffered > 0)
    log()->warn("closing connection: request not completed within idle_timeout peer={} buffered={}", self->peer_,
                buffered);
  else
    log()->debug("closing connection: idle timeout peer={}", self->peer_);
  self->closeSelf();
}

}  // namespace mtasts::daemon
