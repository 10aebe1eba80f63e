// DatagramCollector: mtastsd's drop-in for the socket of Postfix's smtp_tlsrpt_socket_name.
// Owns a unix datagram socket and one reader thread that blocks in poll(), drains the queue
// with recvmmsg in batches, parses each datagram (tlsrpt/datagram.hpp) unless the same bytes
// were parsed recently (tlsrpt/datagram_memo.hpp), maps it to sessions and adds a batch at a
// time to the DayAggregate. The thread never waits on the disk or on a lock held across I/O
// (the committer thread writes LMDB). Bad datagrams are counted per reason in CollectorStats
// and logged at most once a minute; nothing stops the reader.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/unix_datagram_socket.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/datagram_memo.hpp"
#include "tlsrpt/day_aggregate.hpp"

namespace mtasts::tlsrpt {

// net.unix.max_dgram_qlen below this logs a warning at open: Postfix's smtp(8) sends with
// MSG_DONTWAIT and drops a report when the queue is full (dist/sysctl.d/60-mtastsd.conf).
inline constexpr long RecommendedMaxDgramQlen = 1024;
// At most this coalescing delay: 1024 datagrams queue up in it only above 100,000/s.
inline constexpr std::chrono::microseconds MaxCoalesce{10'000};

struct DatagramCollectorOptions {
  std::string path;                   // tlsrpt_socket: an absolute path
  net::SocketFilePermissions permissions{0660, "", ""};  // tlsrpt_socket_mode / _owner / _group
  std::size_t batch = 32;             // datagrams per recvmmsg (1-1024)
  int receive_buffer = 4 << 20;       // SO_RCVBUF asked for (best effort)
  // After a wake-up the reader waits this long before draining, and keeps draining once per
  // delay while datagrams keep coming (back to poll() when a drain finds none), so that one
  // wake-up, the larger part of the cost at low rates, serves a batch instead of a datagram.
  // Used only when max_dgram_qlen >= RecommendedMaxDgramQlen: at 2 ms the queue then
  // overflows only past 500,000 datagrams/s; with the kernel default of 10 it would at
  // 5,000/s, so the reader does not wait then. 2 ms rather than 1 ms: 20-25% less CPU per
  // datagram at 5,000/s, nothing lost up to 80,000/s (BENCHMARKS.md).
  std::chrono::microseconds coalesce{2'000};
};

class DatagramCollector {
 public:
  // Binds the socket (at startup, before privileges are dropped when owner or group is set)
  // and checks max_dgram_qlen. Nothing is read until start(). With `inherited` (a datagram
  // socket systemd bound at options.path) that socket is adopted instead: no bind, no
  // permissions applied, its file left to systemd.
  static Result<std::unique_ptr<DatagramCollector>> open(const DatagramCollectorOptions& options,
                                                         DayAggregate& aggregate, CollectorStats& stats,
                                                         const Clock& clock, net::UniqueFd inherited = {});
  ~DatagramCollector();  // stop(); then the socket file is removed (unless adopted)
  DatagramCollector(const DatagramCollector&) = delete;
  DatagramCollector& operator=(const DatagramCollector&) = delete;

  void start();
  // Wakes the reader, which counts what is still queued and exits; joins it. Idempotent.
  void stop();

  // Receives and counts everything queued now, on the calling thread (the reader thread's
  // step; tests call it without a thread). Returns the datagrams received.
  std::size_t drainOnce();

  const std::string& path() const { return socket_.path(); }
  // CPU time the reader thread has used so far (benchmarks); zero before start().
  std::chrono::nanoseconds readerCpuTime() const;
  // Datagrams the memo answered and those it did not (benchmarks): read after stop().
  std::uint64_t memoHits() const { return memo_.hits(); }
  std::uint64_t memoMisses() const { return memo_.misses(); }

 private:
  DatagramCollector(net::UnixDatagramSocket socket, int wake_fd, const DatagramCollectorOptions& options,
                    std::chrono::microseconds coalesce, DayAggregate& aggregate, CollectorStats& stats,
                    const Clock& clock);
  void run();
  void process(std::size_t received);
  void noteRejected(std::string reason);
  void logRejected();

  net::UnixDatagramSocket socket_;
  int wake_fd_;  // eventfd: stop() writes it, the reader polls it beside the socket
  net::DatagramBatch batch_;
  DayAggregate& aggregate_;
  CollectorStats& stats_;
  const Clock& clock_;
  // Reader thread only, reused batch to batch: datagrams parsed in this batch (with their
  // index in it), what the batch adds to the aggregate, and recent parses by their bytes.
  struct Fresh {
    std::size_t index;
    std::uint64_t hash;
    ParsedDatagram parsed;
  };
  std::vector<Fresh> fresh_;
  std::vector<const DatagramSessions*> pending_;
  DatagramMemo memo_;
  // Rejections since the last log line (reader thread only).
  std::uint64_t rejected_unlogged_ = 0;
  std::uint64_t mismatches_unlogged_ = 0;
  std::string first_reason_;
  UnixSeconds last_log_ = 0;
  std::chrono::microseconds coalesce_;
  std::thread thread_;
  bool stopped_ = false;                // owner's thread
  std::atomic<bool> stopping_{false};  // read by the reader between timed drains
};

}  // namespace mtasts::tlsrpt
