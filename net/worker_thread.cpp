#include "net/worker_thread.hpp"

#include "net/callback_guard.hpp"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>

namespace mtasts::net {

Result<std::unique_ptr<WorkerThread>> WorkerThread::create(event_base* base, std::string name) {
  std::unique_ptr<WorkerThread> worker(new WorkerThread(std::move(name)));
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return fail(ErrorCode::Io, std::string("eventfd: ") + std::strerror(errno));
  worker->wake_fd_.reset(fd);
  worker->wake_event_.reset(event_new(base, fd, EV_READ | EV_PERSIST, &WorkerThread::onWake, worker.get()));
  if (!worker->wake_event_) throw std::bad_alloc();
  event_add(worker->wake_event_.get(), nullptr);
  worker->thread_ = std::thread([w = worker.get()] { w->run(); });
  return worker;
}

WorkerThread::~WorkerThread() { stop(); }

void WorkerThread::post(std::function<void()> work, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back(std::move(work), std::move(done));
  }
  ++pending_;
  work_ready_.notify_one();
}

std::size_t WorkerThread::pending() const { return pending_; }

void WorkerThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  completed_.clear();
  wake_event_.reset();
}

void WorkerThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued ran
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    if (task.first) (void)callGuarded(name_, "worker task", task.first);
    lock.lock();
    completed_.push_back(std::move(task.second));
    const std::uint64_t one = 1;
    // A full counter (never, at 2^64 - 1) or a closed fd only delays nothing: the loop
    // drains every completion on any wakeup.
    (void)!::write(wake_fd_.get(), &one, sizeof one);
  }
}

void WorkerThread::onWake(evutil_socket_t fd, short, void* arg) noexcept {
  auto* self = static_cast<WorkerThread*>(arg);
  std::uint64_t count = 0;
  (void)!::read(fd, &count, sizeof count);
  std::deque<std::function<void()>> ready;
  {
    std::lock_guard lock(self->mutex_);
    ready.swap(self->completed_);
  }
  // A completion may post more work; it must not destroy the runner (its owner stops it
  // from a later loop turn or at shutdown).
  for (auto& done : ready) {
    --self->pending_;
    if (done) (void)callGuarded(self->name_, "worker completion", done);
  }
}

}  // namespace mtasts::net
