// One socketmap client connection, owned by SocketmapServer (internal to the server).
// Decodes pipelined netstring requests, keeps one slot per request in arrival order and
// writes replies strictly in that order. A slot holds the PolicySource RequestHandle, so
// destroying the connection cancels its waits. Structural work (flushing, closing) only
// happens in this connection's own libevent callbacks, never inside a PolicySource
// callback, so a source may deliver answers from anywhere on the loop.
// Timeouts: idle_timeout runs while no request is in flight, from the last reply or from
// the first byte of a request, and is not reset by further partial input (a trickling
// client cannot hold a connection); write_timeout covers replies the peer does not read.
#pragma once

#include "common/pending.hpp"
#include "daemon/policy_source.hpp"
#include "postfix/socketmap.hpp"

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct bufferevent;
struct event;

namespace mtasts::daemon {

class SocketmapServer;

// The one mapping from an internal outcome (a Decision, or an Error that stopped a
// request before any lookup) to a socketmap reply class.
postfix::ReplyStatus replyStatusFor(const std::variant<Decision::Kind, ErrorCode>& outcome);

// The netstring payload answering a Decision: "OK secure match=..." (TLSRPT attributes
// when tlsrpt, falling back to the plain verdict above max_reply_size), "NOTFOUND " or
// "TEMP <reason>".
std::string replyForDecision(const Decision& decision, bool tlsrpt, std::size_t max_reply_size);
// The same, appended to `out` (the connection reuses its buffers).
void appendReplyForDecision(std::string& out, const Decision& decision, bool tlsrpt, std::size_t max_reply_size);

class SocketmapConnection {
 public:
  SocketmapConnection(SocketmapServer& server, bufferevent* bev, std::string peer);
  ~SocketmapConnection();
  SocketmapConnection(const SocketmapConnection&) = delete;
  SocketmapConnection& operator=(const SocketmapConnection&) = delete;

  // Stop reading; the connection closes once every accepted request is answered and
  // written. Returns true when it can be closed right now.
  bool beginDrain();
  const std::string& peer() const { return peer_; }

 private:
  struct Slot {
    bool done = false;
    bool tlsrpt = false;  // the map name asks for the TLSRPT flavour
    SocketmapConnection* connection = nullptr;
    std::string reply;  // netstring payload
    RequestHandle handle;
  };

  static void readTrampoline(bufferevent*, void* arg) noexcept;
  static void writeTrampoline(bufferevent*, void* arg) noexcept;
  static void eventTrampoline(bufferevent*, short what, void* arg) noexcept;
  static void idleTrampoline(int, short, void* arg) noexcept;
  static void resumeTrampoline(int, short, void* arg) noexcept;

  // Each returns false when the connection must be closed (the caller then closes it as
  // its last action).
  bool processInput();
  bool onRead();
  bool onWrite();
  bool onEvent(short what);
  bool onResume();
  void startRequest(std::string_view payload);
  Slot* newSlot();
  void recycle(std::unique_ptr<Slot> slot);
  void complete(Slot* slot);  // slot->reply is filled
  void flushReplies();
  void writeOut(std::string_view framed);
  void updateFlowControl();
  void armIdleTimer();
  bool finishedDraining() const;
  std::size_t outputLength() const;
  void closeSelf();

  SocketmapServer& server_;
  bufferevent* bev_;
  std::string peer_;
  static constexpr std::size_t MaxFreeSlots = 16;
  std::deque<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> free_slots_;
  std::string framed_;  // replies being written, reused between flushes
  event* idle_timer_ = nullptr;
  event* resume_event_ = nullptr;
  bool reading_paused_ = false;
  bool draining_ = false;
  bool processing_ = false;
  bool input_started_ = false;  // unprocessed bytes are buffered: a request has begun
};

}  // namespace mtasts::daemon
