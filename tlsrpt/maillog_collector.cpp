#include "tlsrpt/maillog_collector.hpp"

#include "common/log.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

namespace mtasts::tlsrpt {

namespace {
std::shared_ptr<spdlog::logger> logger() { return moduleLogger("maillog"); }
}  // namespace

MaillogCollector::MaillogCollector(std::unique_ptr<MaillogSource> source, MaillogCollectorOptions options,
                                   MaillogSink sink, const Clock& clock)
    : source_(std::move(source)),
      options_(std::move(options)),
      sink_(std::move(sink)),
      clock_(clock),
      key_(source_->key()) {}

MaillogCollector::~MaillogCollector() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Result<void> MaillogCollector::start(std::string_view stored) {
  if (thread_.joinable() || !source_) return fail(ErrorCode::Internal, "mail-log collector started twice");
  MaillogPosition resume;
  if (!stored.empty()) {
    auto decoded = decodeMaillogPosition(stored);
    if (decoded) {
      resume = std::move(*decoded);
    } else {
      logger()->warn("stored mail-log position unreadable, starting without it source={} error={}", key_,
                     decoded.error().detail);
    }
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return fail(ErrorCode::Io, std::string("eventfd: ") + std::strerror(errno));
  {
    std::lock_guard lock(stats_mutex_);
    stats_.running = true;
  }
  try {
    thread_ = std::thread([this, resume = std::move(resume)]() mutable { run(std::move(resume)); });
  } catch (const std::system_error& e) {
    std::lock_guard lock(stats_mutex_);
    stats_.running = false;
    return fail(ErrorCode::Internal, std::string("mail-log thread: ") + e.what());
  }
  return {};
}

void MaillogCollector::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const std::uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) {
    // The flag alone still ends the loop at the next poll timeout.
  }
  thread_.join();
}

MaillogCollectorStats MaillogCollector::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void MaillogCollector::publish(const MaillogPump& pump) {
  std::lock_guard lock(stats_mutex_);
  stats_.pump = pump.stats();
  stats_.source = source_->counters();
  stats_.sessions = pump.correlator().counters();
  stats_.saw_tlsrpt_lines = pump.correlator().sawTlsRptLines();
}

// Until the next poll: the fallback interval, or sooner when a batch comes due.
int MaillogCollector::waitMs(const MaillogPump& pump) const {
  int ms = std::max(options_.poll_interval_ms, 10);
  if (const UnixSeconds due = pump.nextDue(); due != 0) {
    const UnixSeconds in = due - clock_.now();
    ms = std::min<int>(ms, in <= 0 ? 0 : static_cast<int>(std::min<UnixSeconds>(in, 3600)) * 1000);
  }
  return ms;
}

void MaillogCollector::run(MaillogPosition resume) {
  try {
    if (auto started = source_->start(resume, clock_.now()); !started) {
      logger()->error("mail-log source cannot start source={} error={}", key_, started.error().detail);
      std::lock_guard lock(stats_mutex_);
      stats_.error = started.error().detail;
      stats_.running = false;
      source_.reset();
      return;
    }
    MaillogPump pump(*source_, options_.pump, sink_, clock_);
    while (!stopping_.load()) {
      while (pump.cycle() && !stopping_.load()) publish(pump);
      publish(pump);
      if (stopping_.load()) break;
      if (options_.coalesce_ms > 0) {
        pollfd stop{stop_fd_, POLLIN, 0};
        ::poll(&stop, 1, options_.coalesce_ms);
        if (stopping_.load()) break;
      }
      pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {source_->waitFd(), POLLIN, 0}};
      const nfds_t n = fds[1].fd >= 0 ? 2 : 1;
      if (::poll(fds, n, waitMs(pump)) < 0 && errno != EINTR) {
        logger()->warn("mail-log poll failed error={}", std::strerror(errno));
      }
      if (n == 2 && fds[1].revents != 0) source_->clearWakeup();
    }
    pump.flush();
    publish(pump);
  } catch (const std::exception& e) {
    logger()->error("mail-log collector stopped source={} error={}", key_, e.what());
    std::lock_guard lock(stats_mutex_);
    stats_.error = e.what();
  }
  source_.reset();  // closes the journal on the thread that used it
  std::lock_guard lock(stats_mutex_);
  stats_.running = false;
}

}  // namespace mtasts::tlsrpt
