// One socketmap client connection, owned by SocketmapServer (internal to the server).
// Decodes pipelined netstring requests, keeps one slot per request in arrival order and
// writes replies strictly in that order. A slot holds the PolicyLookup's RequestHandle, so
// destroying the connection cancels its waits. Structural work (flushing, closing) only
// happens in this connection's own libevent callbacks, never inside a PolicyLookup
// callback, so a lookup may deliver answers from anywhere on the loop.
// Timeouts run on the server's Scheduler (manual time in tests): idle_timeout runs while no
// request is in flight, from the last reply or from the first byte of a request, and is not
// reset by further partial input (a trickling client cannot hold a connection);
// write_timeout covers replies the peer does not read, from the last write that made
// progress. Both timers stay armed: activity only moves a timestamp.
// I/O is plain recv/send on the non-blocking socket: complete requests are decoded in
// place from the server's read buffer, only a partial request is copied and kept.
#pragma once

#include "common/pending.hpp"
#include "net/c_handles.hpp"
#include "postfix/policy_answer.hpp"
#include "server/socketmap_reply.hpp"
#include "postfix/socketmap.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct event;

namespace mtasts::server {

class SocketmapServer;

class SocketmapConnection {
 public:
  // Owns the non-blocking socket `fd` (closed on destruction, also when this throws).
  SocketmapConnection(SocketmapServer& server, net::UniqueFd fd, std::string peer);
  ~SocketmapConnection();
  SocketmapConnection(const SocketmapConnection&) = delete;
  SocketmapConnection& operator=(const SocketmapConnection&) = delete;

  // Stop reading; the connection closes once every accepted request is answered and
  // written. Returns true when it can be closed right now.
  bool beginDrain();
  const std::string& peer() const { return peer_; }
  // Sends the replies framed since the last call (the server's send event); false when
  // the connection must now be closed.
  bool sendFramed();

 private:
  struct Slot {
    bool done = false;
    bool tlsrpt = false;  // the map name asks for the TLSRPT flavour
    SocketmapConnection* connection = nullptr;
    std::string reply;  // netstring payload
    RequestHandle handle;
  };

  static void readTrampoline(int, short, void* arg) noexcept;
  static void writeTrampoline(int, short what, void* arg) noexcept;
  static void resumeTrampoline(int, short, void* arg) noexcept;
  template <typename Handler>
  static void dispatch(void* arg, Handler handler) noexcept;

  // Each returns false when the connection must be closed (the caller then closes it as
  // its last action); so does a failed send, through io_failed_.
  bool processInput(std::string_view input);
  bool onRead();
  bool onWrite();
  bool onWriteTimer();
  bool onResume();
  bool onIdleTimer();
  void startRequest(std::string_view payload);
  Slot* newSlot();
  void recycle(std::unique_ptr<Slot> slot);
  void complete(Slot* slot);  // slot->reply is filled
  void flushReplies();
  void writeOut(std::string_view framed);
  void updateFlowControl();
  void setReading(bool on);
  void markIdleFromNow();
  void armIdleTimer(std::chrono::milliseconds after);
  void armWriteTimer(std::chrono::milliseconds after);
  bool finishedDraining() const;
  std::size_t outputLength() const { return unsent_.size() - unsent_start_; }
  void closeSelf();

  SocketmapServer& server_;
  net::UniqueFd fd_;
  std::string peer_;
  static constexpr std::size_t MaxFreeSlots = 16;
  std::deque<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> free_slots_;
  std::string framed_;        // replies answered, waiting for the server's send event
  std::string partial_;       // received bytes not yet decoded (an incomplete request)
  std::string unsent_;        // replies the socket did not take yet, from unsent_start_
  std::size_t unsent_start_ = 0;
  event* read_event_ = nullptr;
  event* write_event_ = nullptr;  // pending while unsent_ is not empty
  event* resume_event_ = nullptr;
  RequestHandle idle_timer_;   // always pending; fires and looks at idle_since_
  RequestHandle write_timer_;  // pending while unsent_ is not empty; looks at wrote_at_
  // Start of the current idle period (scheduler time); moving it costs no timer operation
  // per request.
  std::chrono::milliseconds idle_since_{0};
  std::chrono::milliseconds wrote_at_{0};  // last write that made progress (scheduler time)
  bool reading_ = false;
  bool reading_paused_ = false;
  bool writing_ = false;
  bool draining_ = false;
  bool processing_ = false;
  bool io_failed_ = false;
  bool send_queued_ = false;  // in the server's send queue
};

}  // namespace mtasts::server
