// TaskRunner: runs work away from the event loop and hands its completion back to the loop,
// for work that may wait on the disk or burn CPU (LMDB write txns and their fdatasync, which
// also wait for every other writer of the env; building and compressing a report), so that
// the loop keeps answering socketmap queries meanwhile. WorkerThread is the real one: one
// thread, work in posting order, completions run on the loop through an eventfd. Tests use
// an inline runner (tests/fakes/inline_task_runner.hpp). Work must touch only what is safe
// from another thread (its captures, the LMDB env); it reports errors through its captures.
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace mtasts::net {

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // work() runs off the loop, in posting order; then done() runs on the loop, never from
  // inside post(). An exception from either is logged and ends only that task (done still
  // runs after a work() that threw).
  virtual void post(std::function<void()> work, std::function<void()> done) = 0;
};

class WorkerThread final : public TaskRunner {
 public:
  // Starts the thread; its completions are delivered on `base` (which must outlive it).
  static Result<std::unique_ptr<WorkerThread>> create(event_base* base, std::string name);
  // stop().
  ~WorkerThread() override;
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void post(std::function<void()> work, std::function<void()> done) override;

  // Runs the work still queued, joins the thread, and drops the completions not yet
  // delivered (their owner is going away). Loop thread; safe to call twice.
  void stop();

  // Tasks posted whose completion has not run yet.
  std::size_t pending() const;

 private:
  using Task = std::pair<std::function<void()>, std::function<void()>>;
  explicit WorkerThread(std::string name) : name_(std::move(name)) {}
  void run();
  static void onWake(evutil_socket_t fd, short, void* arg) noexcept;

  std::string name_;
  UniqueFd wake_fd_;  // eventfd: the thread writes it when a completion is ready
  EventPtr wake_event_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Task> queue_;                       // work not yet run
  std::deque<std::function<void()>> completed_;  // done callbacks for the loop
  std::size_t pending_ = 0;                      // posted, completion not yet run (loop only)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mtasts::net
