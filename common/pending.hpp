// RequestHandle: the caller's end of an asynchronous operation (DNS lookup, HTTPS fetch).
// Contract for every async interface in this project:
//  - the callback runs at most once, on the event loop, never from inside the call that
//    started the operation;
//  - destroying the handle (or calling cancel()) before the callback ran guarantees that
//    it never runs (implementations cancel in their destructor); after the callback
//    ran, cancel() and destruction are no-ops; destroying a handle from inside its own
//    callback is allowed (a periodic timer re-arms itself that way).
#pragma once

#include <memory>

namespace mtasts {

class PendingOperation {
 public:
  virtual ~PendingOperation() = default;
  virtual void cancel() noexcept = 0;
};

using RequestHandle = std::unique_ptr<PendingOperation>;

}  // namespace mtasts
