#include "server/socketmap_connection.hpp"

#include "common/log.hpp"
#include "server/socketmap_server.hpp"
#include "net/callback_guard.hpp"
#include "postfix/netstring.hpp"

#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mtasts::server {
namespace {

using postfix::ReplyStatus;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("server");
  return logger;
}

bool wouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

// A big unsent buffer is given back once drained; the usual reply fits far below this.
constexpr std::size_t KeepUnsentCapacity = 64 * 1024;

}  // namespace

SocketmapConnection::SocketmapConnection(SocketmapServer& server, net::UniqueFd fd, std::string peer)
    : server_(server), fd_(std::move(fd)), peer_(std::move(peer)) {
  event_base* base = server_.base_;
  read_event_ = event_new(base, fd_.get(), EV_READ | EV_PERSIST, &SocketmapConnection::readTrampoline, this);
  write_event_ = event_new(base, fd_.get(), EV_WRITE | EV_PERSIST, &SocketmapConnection::writeTrampoline, this);
  resume_event_ = event_new(base, -1, 0, &SocketmapConnection::resumeTrampoline, this);
  if (!read_event_ || !write_event_ || !resume_event_) {
    for (event* e : {read_event_, write_event_, resume_event_})
      if (e) event_free(e);
    throw std::bad_alloc();  // fd_ closes the socket
  }
  setReading(true);
  markIdleFromNow();
  armIdleTimer(server_.limits_.idle_timeout);
  server_.metrics_.open.inc();
}

SocketmapConnection::~SocketmapConnection() {
  server_.metrics_.open.dec();
  if (send_queued_) server_.cancelSend(this);
  slots_.clear();  // cancels outstanding lookups before anything else goes away
  idle_timer_.reset();
  write_timer_.reset();
  for (event* e : {read_event_, write_event_, resume_event_})
    if (e) event_free(e);
}

bool SocketmapConnection::finishedDraining() const {
  return draining_ && slots_.empty() && framed_.empty() && outputLength() == 0;
}

bool SocketmapConnection::beginDrain() {
  draining_ = true;
  setReading(false);
  return finishedDraining();
}

void SocketmapConnection::closeSelf() { server_.closeConnection(this); }

void SocketmapConnection::setReading(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (on)
    event_add(read_event_, nullptr);
  else
    event_del(read_event_);
}

void SocketmapConnection::markIdleFromNow() { idle_since_ = server_.scheduler_.monotonicNow(); }

// A timer's callback is one more way into the connection, with the trampolines' shape:
// guarded, and closing (its last action) when the handler says so or throws.
void SocketmapConnection::armIdleTimer(std::chrono::milliseconds after) {
  idle_timer_ = server_.scheduler_.schedule(after, [this] {
    dispatch(this, [](SocketmapConnection& c) { return c.onIdleTimer(); });
  });
}

void SocketmapConnection::armWriteTimer(std::chrono::milliseconds after) {
  write_timer_ = server_.scheduler_.schedule(after, [this] {
    dispatch(this, [](SocketmapConnection& c) { return c.onWriteTimer(); });
  });
}

// Decodes every complete request in `input` (the server's read buffer, or partial_ with
// the new bytes appended) and keeps what is left, an incomplete request or requests not
// yet taken because the connection is paused, in partial_.
bool SocketmapConnection::processInput(std::string_view input) {
  const ServerLimits& limits = server_.limits_;
  processing_ = true;
  bool keep = true;
  std::size_t used = 0;
  while (!draining_ && slots_.size() < limits.max_pipelined && outputLength() < limits.max_output_buffer) {
    const std::size_t available = input.size() - used;
    if (available == 0) break;
    // A complete request of at most max_query_size bytes fits in this many bytes, so
    // "Incomplete" below really means "wait for more".
    const std::size_t window = std::min(available, limits.max_query_size + 32);
    const auto decoded = postfix::decodeNetstring(input.substr(used, window), limits.max_query_size);
    if (decoded.status == postfix::NetstringStatus::Incomplete) break;
    if (decoded.status != postfix::NetstringStatus::Complete) {
      const bool too_long = decoded.status == postfix::NetstringStatus::TooLong;
      (too_long ? server_.metrics_.too_long : server_.metrics_.bad_netstrings).inc();
      log()->warn("closing connection: {} peer={} max_query_size={}",
                  too_long ? "request too long" : "malformed netstring",
                  peer_, limits.max_query_size);
      keep = false;
      break;
    }
    // The payload points into `input`, which nothing changes before this loop moves on.
    startRequest(decoded.payload);
    used += decoded.consumed;
  }
  processing_ = false;
  if (!keep) return false;
  if (input.data() == partial_.data()) {
    partial_.erase(0, used);
  } else {
    partial_.assign(input.substr(used));
  }
  flushReplies();
  updateFlowControl();
  return !io_failed_;
}

void SocketmapConnection::startRequest(std::string_view payload) {
  Slot* slot = newSlot();
  auto request = postfix::parseSocketmapRequest(payload);
  if (!request) {
    server_.metrics_.invalid_requests.inc();
    log()->info("bad request peer={} error={} request={}", peer_, escapeForLog(request.error().detail),
                escapeForLog(payload, 100));
    postfix::appendReply(slot->reply, replyStatusFor(ErrorCode::InvalidInput),
                         "invalid request: expected \"<mapname> <key>\"");
    complete(slot);
    return;
  }
  auto key = postfix::normalizePolicyKey(request->key);
  if (key.domain().empty()) {
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
  auto handle = server_.lookup_.lookup(key.domain(), [slot](const postfix::PolicyAnswer& answer) {
    SocketmapConnection& self = *slot->connection;
    appendReplyForAnswer(slot->reply, answer, slot->tlsrpt, self.server_.limits_.max_reply_size);
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
  // lookup's callback and must not destroy its handle: flush from our own event.
  if (!processing_) event_active(resume_event_, EV_TIMEOUT, 0);
}

// Answered replies are framed here and sent by sendFramed() from the server's send event,
// which runs after every connection readable in this loop turn has been read: one burst of
// sends wakes a waiting client process once instead of once per reply.
void SocketmapConnection::flushReplies() {
  bool answered = false;
  while (!slots_.empty() && slots_.front()->done) {
    postfix::appendNetstring(framed_, slots_.front()->reply);
    recycle(std::move(slots_.front()));
    slots_.pop_front();
    answered = true;
  }
  if (!framed_.empty() && !send_queued_) {
    send_queued_ = true;
    server_.queueSend(this);
  }
  // Idle from the last answer; flushing nothing must not restart the clock.
  if (answered && slots_.empty()) markIdleFromNow();
}

bool SocketmapConnection::sendFramed() {
  send_queued_ = false;
  writeOut(framed_);
  framed_.clear();  // keeps its capacity from one send to the next
  if (io_failed_ || finishedDraining()) return false;
  updateFlowControl();
  return true;
}

// With nothing queued, the replies go straight to the socket; only what it does not take
// is kept, in order, and written when the socket is writable, within write_timeout.
void SocketmapConnection::writeOut(std::string_view framed) {
  if (io_failed_) return;
  std::size_t sent = 0;
  if (outputLength() == 0) {
    const ssize_t n = ::send(fd_.get(), framed.data(), framed.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      sent = static_cast<std::size_t>(n);
    } else if (!wouldBlock(errno)) {
      log()->debug("closing connection: send failed peer={} error={}", peer_, std::strerror(errno));
      io_failed_ = true;
      return;
    }
  }
  if (sent == framed.size()) return;
  unsent_.append(framed.substr(sent));
  if (!writing_) {
    writing_ = true;
    event_add(write_event_, nullptr);
    wrote_at_ = server_.scheduler_.monotonicNow();
    armWriteTimer(server_.limits_.write_timeout);
  }
}

bool SocketmapConnection::onWrite() {
  const ssize_t n = ::send(fd_.get(), unsent_.data() + unsent_start_, outputLength(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    if (wouldBlock(errno)) return true;
    log()->debug("closing connection: send failed peer={} error={}", peer_, std::strerror(errno));
    return false;
  }
  unsent_start_ += static_cast<std::size_t>(n);
  if (n > 0) wrote_at_ = server_.scheduler_.monotonicNow();  // the timeout restarts after each write
  if (outputLength() > 0) return true;
  unsent_.clear();
  unsent_start_ = 0;
  if (unsent_.capacity() > KeepUnsentCapacity) unsent_.shrink_to_fit();
  writing_ = false;
  event_del(write_event_);
  write_timer_.reset();
  if (finishedDraining()) return false;
  updateFlowControl();
  return true;
}

// Like the idle timer: armed once per blocked period, it sleeps again for what is left
// when writes made progress since, and closes when none did for write_timeout.
bool SocketmapConnection::onWriteTimer() {
  if (!writing_) return true;
  const auto stalled_for = server_.scheduler_.monotonicNow() - wrote_at_;
  if (stalled_for < server_.limits_.write_timeout) {
    armWriteTimer(server_.limits_.write_timeout - stalled_for);
    return true;
  }
  server_.metrics_.write_timeouts.inc();
  log()->warn("closing connection: write timeout peer={} unsent={}", peer_, outputLength());
  return false;
}

void SocketmapConnection::updateFlowControl() {
  const ServerLimits& limits = server_.limits_;
  const bool must_pause = draining_ || slots_.size() >= limits.max_pipelined ||
                          outputLength() >= limits.max_output_buffer;
  if (must_pause && !reading_paused_) {
    reading_paused_ = true;
    setReading(false);
    if (!draining_)
      log()->debug("reading paused peer={} pending={} unsent={}", peer_, slots_.size(), outputLength());
  } else if (!must_pause && reading_paused_) {
    reading_paused_ = false;
    setReading(true);
    // Requests already buffered produce no new read event: process them from our event.
    if (!partial_.empty()) event_active(resume_event_, EV_TIMEOUT, 0);
  }
}

bool SocketmapConnection::onRead() {
  char* buffer = server_.read_buffer_.get();
  const ssize_t n = ::recv(fd_.get(), buffer, SocketmapServer::ReadChunk, 0);
  if (n == 0) {
    // Socketmap has no half-close: a client that closed will not read its answers, so
    // its outstanding lookups are cancelled with the connection.
    log()->debug("client closed peer={} pending={}", peer_, slots_.size());
    return false;
  }
  if (n < 0) {
    if (wouldBlock(errno)) return true;
    log()->debug("closing connection: socket error peer={} error={}", peer_, std::strerror(errno));
    return false;
  }
  // The first byte of a request starts its deadline; later bytes of the same request do not
  // extend it (a slowloris trickling one byte a second is closed at idle_timeout).
  if (slots_.empty() && partial_.empty()) markIdleFromNow();
  const std::string_view received(buffer, static_cast<std::size_t>(n));
  if (partial_.empty()) return processInput(received);
  partial_.append(received);
  return processInput(partial_);
}

bool SocketmapConnection::onResume() {
  flushReplies();
  // processInput() decodes partial_ in place and erases what it took, as after a read.
  if (!draining_ && !reading_paused_ && !partial_.empty() && !processInput(partial_)) return false;
  if (reading_paused_) updateFlowControl();
  return !io_failed_ && !finishedDraining();
}

// The timer stays armed; activity only moves idle_since_, and the timer, when it fires,
// either closes the connection or sleeps for what is left of the idle period.
bool SocketmapConnection::onIdleTimer() {
  const auto idle_timeout = server_.limits_.idle_timeout;
  // A request in flight is not idle; unsent replies are write_timeout's business.
  if (!slots_.empty() || outputLength() > 0) {
    armIdleTimer(idle_timeout);
    return true;
  }
  const auto idle_for = server_.scheduler_.monotonicNow() - idle_since_;
  if (idle_for < idle_timeout) {
    armIdleTimer(idle_timeout - idle_for);
    return true;
  }
  if (!partial_.empty()) {
    server_.metrics_.request_timeouts.inc();
    log()->warn("closing connection: request not completed within idle_timeout peer={} buffered={}", peer_,
                partial_.size());
  } else {
    log()->debug("closing connection: idle timeout peer={}", peer_);
  }
  return false;
}

// The one shape of every callback into a connection (libevent's and the scheduler's): run
// the handler under the guard; false, or an exception (logged by the guard), closes the
// connection, as the last action.
template <typename Handler>
void SocketmapConnection::dispatch(void* arg, Handler handler) noexcept {
  auto* self = static_cast<SocketmapConnection*>(arg);
  bool keep = false;
  (void)net::callGuarded("server", "connection callback", [&] { keep = handler(*self) && !self->io_failed_; });
  if (!keep) self->closeSelf();
}

void SocketmapConnection::readTrampoline(int, short, void* arg) noexcept {
  dispatch(arg, [](SocketmapConnection& c) { return c.onRead(); });
}
void SocketmapConnection::writeTrampoline(int, short, void* arg) noexcept {
  dispatch(arg, [](SocketmapConnection& c) { return c.onWrite(); });
}
void SocketmapConnection::resumeTrampoline(int, short, void* arg) noexcept {
  dispatch(arg, [](SocketmapConnection& c) { return c.onResume(); });
}

}  // namespace mtasts::server
