#include "tlsrpt/datagram_collector.hpp"

#include <spdlog/fmt/fmt.h>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/log.hpp"
#include "tlsrpt/datagram.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr UnixSeconds RejectLogInterval = 60;
constexpr std::size_t MaxBatch = 1024;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

void bump(std::atomic<std::uint64_t>& counter, bool when = true) {
  if (when) counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Result<std::unique_ptr<DatagramCollector>> DatagramCollector::open(const DatagramCollectorOptions& options,
                                                                   DayAggregate& aggregate, CollectorStats& stats,
                                                                   const Clock& clock, net::UniqueFd inherited) {
  if (options.batch == 0 || options.batch > MaxBatch) {
    return fail(ErrorCode::InvalidInput, fmt::format("datagram batch must be 1 to {}", MaxBatch));
  }
  if (options.coalesce < std::chrono::microseconds{0} || options.coalesce > MaxCoalesce) {
    return fail(ErrorCode::InvalidInput, "datagram coalescing delay must be 0 to 10 ms");
  }
  // Read before the socket exists: the kernel fixes a socket's queue length when it is made.
  std::chrono::microseconds coalesce{0};
  if (auto qlen = net::readMaxDgramQlen(); !qlen) {
    logger()->warn("cannot check net.unix.max_dgram_qlen error={}", qlen.error().detail);
  } else if (*qlen >= RecommendedMaxDgramQlen) {
    coalesce = options.coalesce;
  } else {
    logger()->warn("net.unix.max_dgram_qlen is low: Postfix drops TLSRPT datagrams whenever the reader falls "
                   "{} behind; set it to {} or more before mtastsd starts (dist/sysctl.d/60-mtastsd.conf) "
                   "value={} recommended={}",
                   *qlen, RecommendedMaxDgramQlen, *qlen, RecommendedMaxDgramQlen);
  }
  const bool adopted = static_cast<bool>(inherited);
  auto socket = adopted ? Result<net::UnixDatagramSocket>(net::UnixDatagramSocket::adopt(
                              inherited.release(), options.path, options.receive_buffer))
                        : net::UnixDatagramSocket::bind(options.path, options.permissions, "tlsrpt_socket",
                                                        options.receive_buffer);
  if (!socket) return Unexpected{std::move(socket).error()};
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return fail(ErrorCode::Io, fmt::format("eventfd: {}", std::strerror(errno)));
  logger()->info("TLSRPT datagram socket ready path={} batch={} coalesce_us={} from={}", options.path, options.batch,
                 coalesce.count(), adopted ? "systemd" : "bind");
  return std::unique_ptr<DatagramCollector>(
      new DatagramCollector(std::move(*socket), wake_fd, options, coalesce, aggregate, stats, clock));
}

DatagramCollector::DatagramCollector(net::UnixDatagramSocket socket, int wake_fd,
                                     const DatagramCollectorOptions& options, std::chrono::microseconds coalesce,
                                     DayAggregate& aggregate, CollectorStats& stats, const Clock& clock)
    : socket_(std::move(socket)),
      wake_fd_(wake_fd),
      batch_(options.batch, MaxDatagramBytes),
      aggregate_(aggregate),
      stats_(stats),
      clock_(clock),
      coalesce_(coalesce) {
  fresh_.reserve(options.batch);  // never reallocated: pending_ points into it
  pending_.reserve(options.batch);
}

DatagramCollector::~DatagramCollector() {
  stop();
  ::close(wake_fd_);
}

void DatagramCollector::start() {
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { run(); });
}

void DatagramCollector::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_relaxed);
  const std::uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    logger()->error("cannot wake the TLSRPT reader error={}", std::strerror(errno));
  }
  if (thread_.joinable()) thread_.join();
}

std::chrono::nanoseconds DatagramCollector::readerCpuTime() const {
  if (!thread_.joinable()) return std::chrono::nanoseconds{0};
  clockid_t id{};
  timespec ts{};
  // The handle is valid while the thread is joinable (not yet joined).
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &id) != 0 ||
      clock_gettime(id, &ts) != 0) {
    return std::chrono::nanoseconds{0};
  }
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

void DatagramCollector::run() {
  pollfd fds[2] = {{socket_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const timespec delay{0, static_cast<long>(coalesce_.count()) * 1000};
  for (;;) {
    // While datagrams keep coming, one timer wake-up per coalescing delay serves them all;
    // the queue (max_dgram_qlen) holds far more than arrive meanwhile. A drain that finds
    // nothing sends the reader back to poll(), so an idle collector costs nothing.
    while (drainOnce() > 0 && coalesce_.count() > 0 && !stopping_.load(std::memory_order_relaxed)) {
      ::nanosleep(&delay, nullptr);
    }
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      logger()->error("poll on the TLSRPT socket failed error={}", std::strerror(errno));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      drainOnce();  // what was queued before the stop still counts
      break;
    }
    if (coalesce_.count() > 0 && (fds[0].revents & POLLIN) != 0) ::nanosleep(&delay, nullptr);
  }
  logRejected();
}

std::size_t DatagramCollector::drainOnce() {
  std::size_t total = 0;
  for (;;) {
    auto received = batch_.receive(socket_.fd());
    if (!received) {
      logger()->error("receiving TLSRPT datagrams failed error={}", received.error().detail);
      return total;
    }
    if (*received == 0) return total;
    process(*received);
    total += *received;
    if (*received < batch_.count()) return total;  // the queue was empty at that moment
  }
}

void DatagramCollector::process(std::size_t received) {
  stats_.received.fetch_add(received, std::memory_order_relaxed);
  // Remembered parses are counted from the memo, fresh ones from fresh_ (reserved for a
  // whole batch, so the pointers stay valid); the fresh ones are remembered after counting,
  // which may replace entries that pending_ points to.
  for (std::size_t i = 0; i < received; ++i) {
    if (batch_.truncated(i)) {
      bump(stats_.rejected_truncated);
      noteRejected(fmt::format("datagram larger than {} bytes", MaxDatagramBytes));
      continue;
    }
    const std::string_view bytes = batch_.datagram(i);
    const std::uint64_t hash = DatagramMemo::hashBytes(bytes);
    const ParsedDatagram* parsed = memo_.find(hash, bytes);
    if (parsed == nullptr) {
      auto datagram = parseDatagram(bytes);
      if (!datagram) {
        bump(datagram.error().code == ErrorCode::TooLarge ? stats_.rejected_too_large : stats_.rejected_invalid);
        noteRejected(datagram.error().detail);
        continue;
      }
      const DatagramWarnings warnings = datagram->warnings;
      fresh_.push_back(Fresh{i, hash, ParsedDatagram{sessionsOf(std::move(*datagram)), warnings}});
      parsed = &fresh_.back().parsed;
    }
    const DatagramWarnings& w = parsed->warnings;
    bump(stats_.warned_count_mismatch, w.failure_count_mismatch);
    bump(stats_.warned_utf8_replaced, w.invalid_utf8_replaced);
    bump(stats_.warned_unknown_members, w.unknown_members_skipped);
    bump(stats_.warned_details_on_success, w.details_on_success);
    if (w.failure_count_mismatch) ++mismatches_unlogged_;
    pending_.push_back(&parsed->sessions);
  }
  if (!pending_.empty()) {
    aggregate_.addDatagrams(pending_);
    stats_.accepted.fetch_add(pending_.size(), std::memory_order_relaxed);
    pending_.clear();
  }
  for (auto& f : fresh_) memo_.remember(f.hash, batch_.datagram(f.index), std::move(f.parsed));
  fresh_.clear();
  if (rejected_unlogged_ > 0 || mismatches_unlogged_ > 0) {
    const UnixSeconds now = clock_.now();
    if (last_log_ == 0 || now - last_log_ >= RejectLogInterval) {
      last_log_ = now;
      logRejected();
    }
  }
}

void DatagramCollector::noteRejected(std::string reason) {
  if (rejected_unlogged_++ == 0) first_reason_ = std::move(reason);
}

void DatagramCollector::logRejected() {
  if (rejected_unlogged_ > 0) {
    logger()->warn("TLSRPT datagrams rejected count={} first_reason={}", rejected_unlogged_,
                   escapeForLog(first_reason_, 300));
  }
  if (mismatches_unlogged_ > 0) {
    // sys4's counting: rows come from failure-details, "t" is informational only.
    logger()->warn("TLSRPT datagrams whose \"t\" differs from their failure-details, counted by the details "
                   "count={}",
                   mismatches_unlogged_);
  }
  rejected_unlogged_ = 0;
  mismatches_unlogged_ = 0;
  first_reason_.clear();
}

}  // namespace mtasts::tlsrpt
