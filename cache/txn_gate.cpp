#include "cache/txn_gate.hpp"

#include <algorithm>
#include <utility>

namespace mtasts::cache {

int& TxnGate::heldBy(std::thread::id thread) {
  auto it = std::find_if(held_.begin(), held_.end(), [&](const auto& h) { return h.first == thread; });
  if (it != held_.end()) return it->second;
  return held_.emplace_back(thread, 0).second;
}

int TxnGate::heldBy(std::thread::id thread) const {
  auto it = std::find_if(held_.begin(), held_.end(), [&](const auto& h) { return h.first == thread; });
  return it != held_.end() ? it->second : 0;
}

void TxnGate::enter() {
  const auto self = std::this_thread::get_id();
  std::unique_lock lock(mutex_);
  if (std::as_const(*this).heldBy(self) == 0) changed_.wait(lock, [&] { return !pending_; });
  ++open_;
  ++heldBy(self);  // looked up again: other threads may have changed held_ while we waited
}

void TxnGate::leave() {
  const auto self = std::this_thread::get_id();
  std::lock_guard lock(mutex_);
  auto it = std::find_if(held_.begin(), held_.end(), [&](const auto& h) { return h.first == self; });
  if (it == held_.end() || open_ == 0) return;  // unbalanced: a bug, but never a negative count
  if (--it->second == 0) {
    *it = held_.back();
    held_.pop_back();
  }
  if (--open_ == 0 && pending_) changed_.notify_all();
}

bool TxnGate::exclusive(const std::function<void()>& fn) {
  const auto self = std::this_thread::get_id();
  std::unique_lock lock(mutex_);
  if (std::as_const(*this).heldBy(self) > 0) return false;
  changed_.wait(lock, [&] { return !pending_; });  // one exclusive section at a time
  pending_ = true;
  // Cleared on every way out, also if fn throws: a stuck flag would stop every thread.
  struct Clear {
    TxnGate& gate;
    ~Clear() {
      gate.pending_ = false;
      gate.changed_.notify_all();
    }
  } clear{*this};
  changed_.wait(lock, [&] { return open_ == 0; });
  fn();  // under mutex_: no txn can start (enter() locks it) and none is open to end
  return true;
}

bool TxnGate::exclusivePending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

int TxnGate::openTxns() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace mtasts::cache
