// tlsrpt_receiver: the two receivers of the TLSRPT datagram benchmark (issue 12).
//
//   tlsrpt_receiver floor     --socket PATH [--batch 32] [--coalesce-us 1000]
//   tlsrpt_receiver parse     --socket PATH [--batch 32] [--coalesce-us 1000]
//   tlsrpt_receiver collector --socket PATH --state-dir DIR [--batch 32] [--commit-ms 1000]
//                             [--coalesce-us 1000]
//
// floor: the do-nothing reader. The same socket, buffers and receive calls as the collector
// (net::UnixDatagramSocket, net::DatagramBatch: poll, then recvmmsg until the queue is empty)
// and nothing else: what receiving alone costs. --coalesce-us: both wait that long after a
// wake-up before draining (DatagramCollectorOptions::coalesce; 0 = drain at once).
// parse: the floor plus parseDatagram and sessionsOf of every datagram, no memo, nothing
// counted or stored: what any collector that parses each datagram it has not seen before
// costs at least, on a stream whose datagrams do not repeat.
// collector: mtastsd's DatagramCollector and Committer over a real LMDB day store in DIR
// (the daemon's code without the daemon): parse, count, commit every --commit-ms.
// Both print "ready" once bound, run until SIGTERM or SIGINT, then print one JSON object with
// the datagrams received and the process CPU seconds (getrusage, all threads); the collector
// adds the reader thread's CPU, what was committed and read back from the store.
#include <signal.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <string>

#include "cache/lmdb_env.hpp"
#include "common/log.hpp"
#include "net/unix_datagram_socket.hpp"
#include "tlsrpt/committer.hpp"
#include "tlsrpt/datagram.hpp"
#include "tlsrpt/datagram_collector.hpp"
#include "tlsrpt/datagram_sessions.hpp"
#include "tlsrpt/day_store.hpp"

namespace {

using namespace mtasts;

struct Options {
  std::string mode;
  std::string socket;
  std::string state_dir;
  std::size_t batch = 32;
  long commit_ms = 1000;
  long coalesce_us = 1000;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tlsrpt_receiver: %s\nusage: tlsrpt_receiver floor|parse|collector --socket PATH "
                       "[--state-dir DIR] [--batch N] [--commit-ms MS]\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  if (argc < 2) usage("missing mode");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--socket") o.socket = v;
    else if (a == "--state-dir") o.state_dir = v;
    else if (a == "--batch") o.batch = static_cast<std::size_t>(std::atol(v.c_str()));
    else if (a == "--commit-ms") o.commit_ms = std::atol(v.c_str());
    else if (a == "--coalesce-us") o.coalesce_us = std::atol(v.c_str());
    else usage(("unknown option " + a).c_str());
  }
  if (o.mode != "floor" && o.mode != "parse" && o.mode != "collector") {
    usage("mode must be floor, parse or collector");
  }
  if (o.socket.empty() || (o.mode == "collector" && o.state_dir.empty())) usage("missing --socket or --state-dir");
  if (o.batch == 0 || o.batch > 1024 || o.commit_ms <= 0 || o.coalesce_us < 0 || o.coalesce_us > 10'000) {
    usage("bad numbers");
  }
  return o;
}

// VmRSS in KiB (resident memory, all threads).
long residentKb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

double processCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// The floor reader; with `parse`, every datagram is also parsed.
int runFloor(const Options& o, bool parse) {
  auto socket = net::UnixDatagramSocket::bind(o.socket, net::SocketFilePermissions{0666, "", ""}, "tlsrpt_socket",
                                              4 << 20);
  if (!socket) {
    std::fprintf(stderr, "%s\n", socket.error().detail.c_str());
    return 1;
  }
  const sigset_t set = stopSignals();
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  net::DatagramBatch batch(o.batch, tlsrpt::MaxDatagramBytes);
  std::uint64_t received = 0;
  std::uint64_t rejected = 0;
  std::printf("ready\n");
  std::fflush(stdout);
  const double cpu0 = processCpu();
  pollfd fds[2] = {{socket->fd(), POLLIN, 0}, {sfd, POLLIN, 0}};
  const timespec delay{0, o.coalesce_us * 1000};
  // The collector's reader loop (DatagramCollector::run), without the work.
  auto drain = [&] {
    std::size_t total = 0;
    for (;;) {
      auto n = batch.receive(socket->fd());
      if (!n || *n == 0) return total;
      total += *n;
      for (std::size_t i = 0; parse && i < *n; ++i) {
        auto datagram = tlsrpt::parseDatagram(batch.datagram(i));
        if (!datagram) {
          ++rejected;
          continue;
        }
        const tlsrpt::DatagramSessions sessions = tlsrpt::sessionsOf(std::move(*datagram));
        if (sessions.sessions.empty()) ++rejected;  // keeps the result alive
      }
      if (*n < batch.count()) return total;
    }
  };
  for (;;) {
    std::size_t n = 0;
    while ((n = drain()) > 0) {
      received += n;
      if (o.coalesce_us == 0) break;
      ::nanosleep(&delay, nullptr);
    }
    if (::poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) break;
    if (o.coalesce_us > 0 && (fds[0].revents & POLLIN) != 0) ::nanosleep(&delay, nullptr);
  }
  std::printf("{\"mode\": \"%s\", \"received\": %llu, \"rejected\": %llu, \"cpu_seconds\": %.4f, "
              "\"reader_cpu_seconds\": %.4f, \"rss_kb\": %ld}\n",
              o.mode.c_str(), static_cast<unsigned long long>(received), static_cast<unsigned long long>(rejected),
              processCpu() - cpu0, processCpu() - cpu0, residentKb());
  return 0;
}

int runCollector(const Options& o) {
  setLogLevel("warn");
  auto env = cache::LmdbEnv::open(cache::LmdbOptions{o.state_dir});
  if (!env) {
    std::fprintf(stderr, "%s\n", env.error().detail.c_str());
    return 1;
  }
  auto store = tlsrpt::DayStore::attach(*env);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().detail.c_str());
    return 1;
  }
  SystemClock clock;
  tlsrpt::CollectorStats stats;
  tlsrpt::DayLimits limits;
  tlsrpt::DayAggregate aggregate(clock, limits, stats);
  tlsrpt::CommitterOptions committer_options;
  committer_options.interval = std::chrono::milliseconds(o.commit_ms);
  tlsrpt::Committer committer(aggregate, **store, stats, clock, committer_options);
  if (auto r = committer.prepare(); !r) {
    std::fprintf(stderr, "%s\n", r.error().detail.c_str());
    return 1;
  }
  tlsrpt::DatagramCollectorOptions collector_options;
  collector_options.path = o.socket;
  collector_options.permissions.mode = 0666;
  collector_options.batch = o.batch;
  collector_options.coalesce = std::chrono::microseconds(o.coalesce_us);
  auto collector = tlsrpt::DatagramCollector::open(collector_options, aggregate, stats, clock);
  if (!collector) {
    std::fprintf(stderr, "%s\n", collector.error().detail.c_str());
    return 1;
  }
  const sigset_t set = stopSignals();  // blocked in main before any thread starts
  const double cpu0 = processCpu();
  committer.start();
  (*collector)->start();
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  const long rss_kb = residentKb();
  const double reader_cpu = std::chrono::duration<double>((*collector)->readerCpuTime()).count();
  (*collector)->stop();
  const auto memo_hits = (*collector)->memoHits();
  const auto memo_misses = (*collector)->memoMisses();
  auto final_commit = committer.stop();
  const double cpu = processCpu() - cpu0;
  std::uint64_t stored = 0;
  auto days = (*store)->days();
  for (auto day : days ? *days : std::vector<tlsrpt::UtcDay>{}) {
    auto entries = (*store)->entries(day);
    for (const auto& e : entries ? *entries : std::vector<tlsrpt::DayEntry>{}) {
      stored += e.counts.successful_sessions + e.counts.failed_sessions;
    }
  }
  std::printf("{\"mode\": \"collector\", \"received\": %llu, \"accepted\": %llu, \"rejected\": %llu, "
              "\"stored_sessions\": %llu, \"commits\": %llu, \"commit_failures\": %llu, \"final_commit_ok\": %s, "
              "\"memo_hits\": %llu, \"memo_misses\": %llu, \"cpu_seconds\": %.4f, \"reader_cpu_seconds\": %.4f, "
              "\"rss_kb\": %ld}\n",
              static_cast<unsigned long long>(stats.received.load()),
              static_cast<unsigned long long>(stats.accepted.load()),
              static_cast<unsigned long long>(stats.rejected_invalid.load() + stats.rejected_too_large.load() +
                                              stats.rejected_truncated.load()),
              static_cast<unsigned long long>(stored), static_cast<unsigned long long>(stats.commits.load()),
              static_cast<unsigned long long>(stats.commit_failures.load()), final_commit ? "true" : "false",
              static_cast<unsigned long long>(memo_hits), static_cast<unsigned long long>(memo_misses), cpu,
              reader_cpu, rss_kb);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const sigset_t set = stopSignals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return o.mode == "collector" ? runCollector(o) : runFloor(o, o.mode == "parse");
}
