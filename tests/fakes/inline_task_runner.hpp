// InlineTaskRunner: a net::TaskRunner for unit tests. work() runs at once inside post() (the
// test is the only thread); done() is queued and runs only in runAll(), never from inside
// post(), as with the real WorkerThread.
#pragma once

#include "net/worker_thread.hpp"

#include <deque>
#include <functional>
#include <utility>

namespace mtasts::testing {

class InlineTaskRunner final : public net::TaskRunner {
 public:
  void post(std::function<void()> work, std::function<void()> done) override {
    work();
    done_.push_back(std::move(done));
  }
  // Runs the completions queued (and those they queue); returns how many ran.
  int runAll() {
    int ran = 0;
    while (!done_.empty()) {
      auto fn = std::move(done_.front());
      done_.pop_front();
      if (fn) fn();
      ++ran;
    }
    return ran;
  }

 private:
  std::deque<std::function<void()>> done_;
};

}  // namespace mtasts::testing
