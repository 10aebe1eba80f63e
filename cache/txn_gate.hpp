// TxnGate: the rule LMDB leaves to its caller when several threads share one environment:
// the map may be resized, and a named database opened, only while no txn of the process is
// open. Every txn enters the gate on the thread that starts it and leaves it on the same
// thread when it ends; exclusive() runs a function once every other txn has ended, holding
// new ones back meanwhile. Only a thread that holds no txn ever waits, so threads cannot wait
// on each other in a cycle. Thread-safe; owned by LmdbEnv, one per environment.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mtasts::cache {

class TxnGate {
 public:
  // Before a txn starts on this thread. Waits while another thread waits for, or runs,
  // exclusive() — unless this thread already holds a txn: that one must be able to end.
  void enter();
  // After the txn ended (commit, abort, reset), on the thread that entered.
  void leave();
  // Runs fn() while no txn is open in the process and no other one can start, then returns
  // true. Returns false without running fn when this thread holds a txn of this gate
  // (waiting for itself would never end). One exclusive() at a time; fn must not enter().
  bool exclusive(const std::function<void()>& fn);

  // For tests and logs: whether a thread waits for or runs exclusive(); txns open now.
  bool exclusivePending() const;
  int openTxns() const;

 private:
  int& heldBy(std::thread::id thread);  // mutex_ held; adds a zero entry if missing
  int heldBy(std::thread::id thread) const;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // open_ reached 0, or pending_ was cleared
  int open_ = 0;
  bool pending_ = false;  // a thread waits for open_ == 0 or runs its exclusive fn
  // Txns held per thread; entries at 0 are removed, so this stays as short as the number of
  // threads that hold a txn right now (two in the daemon).
  std::vector<std::pair<std::thread::id, int>> held_;
};

}  // namespace mtasts::cache
