// ManualScheduler: a Scheduler for unit tests. Time moves only in advance(); due tasks run
// in due-time order (ties in scheduling order). Honours the common/pending.hpp contract.
#pragma once

#include "common/scheduler.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace mtasts::testing {

class ManualScheduler final : public Scheduler {
 public:
  RequestHandle schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
    auto task = std::make_shared<Task>(Task{now_ms_ + delay.count(), next_seq_++, std::move(fn)});
    tasks_.push_back(task);
    return std::make_unique<Handle>(task);
  }

  std::chrono::milliseconds monotonicNow() const override { return std::chrono::milliseconds(now_ms_); }

  // Runs every task due up to now + ms (including tasks those tasks schedule).
  void advance(std::chrono::milliseconds ms) {
    const std::int64_t target = now_ms_ + ms.count();
    for (;;) {
      std::shared_ptr<Task> next;
      for (const auto& t : tasks_) {
        if (!t->fn || t->due_ms > target) continue;
        if (!next || t->due_ms < next->due_ms || (t->due_ms == next->due_ms && t->seq < next->seq)) next = t;
      }
      if (!next) break;
      now_ms_ = next->due_ms;
      auto fn = std::move(next->fn);
      next->fn = nullptr;
      fn();
    }
    now_ms_ = target;
    std::erase_if(tasks_, [](const auto& t) { return !t->fn; });
  }

  std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& t : tasks_) n += t->fn ? 1u : 0u;
    return n;
  }
  std::int64_t nowMs() const { return now_ms_; }

 private:
  struct Task {
    std::int64_t due_ms;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  class Handle final : public PendingOperation {
   public:
    explicit Handle(std::weak_ptr<Task> t) : task_(std::move(t)) {}
    ~Handle() override { cancel(); }
    void cancel() noexcept override {
      if (auto t = task_.lock()) t->fn = nullptr;
    }

   private:
    std::weak_ptr<Task> task_;
  };

  std::int64_t now_ms_ = 0;
  std::uint64_t next_seq_ = 0;
  std::vector<std::shared_ptr<Task>> tasks_;
};

}  // namespace mtasts::testing
