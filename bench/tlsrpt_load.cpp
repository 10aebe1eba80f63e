// tlsrpt_load: a TLSRPT datagram load generator with Postfix's sending pattern (issue 12).
// libtlsrpt, inside each smtp(8) process, sends one report per TLS handshake like this:
// socket(AF_UNIX, SOCK_DGRAM), sendto(MSG_DONTWAIT) to the collector's path, close. A full
// receive queue gives EAGAIN and the report is lost, so EAGAIN is counted as lost here.
//
//   tlsrpt_load --socket PATH --dir FIXTURES [--senders 4] [--rate 5000] [--seconds 10]
//               [--domains N [--zipf S]]
//
// --rate is datagrams/s over all senders (0: as fast as possible); the senders are forked
// processes that each pace their share in 1 ms steps. The datagrams are the pf311-*.dgram
// files of --dir (real Postfix 3.11 datagrams), in turn. --domains N (N >= 1) sends each
// capture for N different domains instead (its domain D becomes n<i>.D everywhere in it),
// so that the same bytes come back only every 16 x N datagrams: a stream without the
// repeats of real traffic, which the collector's memo of recent datagrams cannot shorten.
// --zipf S (with --domains) draws the domain of each datagram from a Zipf distribution of
// exponent S instead (domain i with weight 1/(i+1)^S; the capture still in turn): a few
// domains take most sessions and a long tail is seen rarely, as in a mail server's traffic.
// Prints one JSON object: sent, lost (EAGAIN), errors, seconds, rate achieved, and the
// senders' CPU seconds.
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string socket;
  std::string dir;
  int senders = 4;
  double rate = 5000;
  double seconds = 10;
  long domains = 0;  // 0: the captures as they are
  double zipf = 0;   // 0: domains in turn
};

struct Counts {
  std::uint64_t sent = 0;
  std::uint64_t lost = 0;    // EAGAIN: the receiver's queue was full
  std::uint64_t errors = 0;  // anything else (ECONNREFUSED: no receiver)
};

std::int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tlsrpt_load: %s\nusage: tlsrpt_load --socket PATH --dir FIXTURES [--senders N] "
                       "[--rate DATAGRAMS_PER_S] [--seconds S]\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--socket") o.socket = v;
    else if (a == "--dir") o.dir = v;
    else if (a == "--senders") o.senders = std::atoi(v.c_str());
    else if (a == "--rate") o.rate = std::atof(v.c_str());
    else if (a == "--seconds") o.seconds = std::atof(v.c_str());
    else if (a == "--domains") o.domains = std::atol(v.c_str());
    else if (a == "--zipf") o.zipf = std::atof(v.c_str());
    else usage(("unknown option " + a).c_str());
  }
  if (o.socket.empty() || o.dir.empty()) usage("--socket and --dir are required");
  if (o.socket.size() >= sizeof(sockaddr_un{}.sun_path)) usage("socket path too long");
  if (o.senders < 1 || o.senders > 256 || o.rate < 0 || o.seconds <= 0 || o.domains < 0 || o.domains > 100'000 ||
      o.zipf < 0 || (o.zipf > 0 && o.domains == 0)) {
    usage("bad numbers");
  }
  return o;
}

std::vector<std::string> loadDatagrams(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    const std::string name = f.path().filename().string();
    if (!name.starts_with("pf311-") || !name.ends_with(".dgram")) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out.push_back(bytes.str());
  }
  if (out.empty()) usage("no pf311-*.dgram files in --dir");
  return out;
}

// Every capture once per domain n<i>.D, i < count, domain after domain: all occurrences of
// the capture's "d" value D are renamed (the record's rua, policy-domain, policy lines, MX).
std::vector<std::string> renamedDatagrams(const std::vector<std::string>& captures, long count) {
  std::vector<std::string> out;
  for (long i = 0; i < count; ++i) {
    for (const auto& capture : captures) {
      const std::string marker = "\"d\": \"";
      const auto from = capture.find(marker);
      if (from == std::string::npos) usage("a capture without \"d\"");
      const auto begin = from + marker.size();
      const std::string domain = capture.substr(begin, capture.find('"', begin) - begin);
      const std::string renamed = "n" + std::to_string(i) + "." + domain;
      std::string bytes;
      for (std::size_t pos = 0;;) {
        const auto at = capture.find(domain, pos);
        bytes += capture.substr(pos, at - pos);
        if (at == std::string::npos) break;
        bytes += renamed;
        pos = at + domain.size();
      }
      out.push_back(std::move(bytes));
    }
  }
  return out;
}

// libtlsrpt's send: a fresh socket per datagram.
void sendOne(const sockaddr_un& to, const std::string& bytes, Counts& counts) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++counts.errors;
    return;
  }
  ssize_t n = ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (n == static_cast<ssize_t>(bytes.size())) {
    ++counts.sent;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    ++counts.lost;
  } else {
    ++counts.errors;
  }
  ::close(fd);
}

// Which datagram to send next: in turn, or (--zipf) capture in turn and domain by weight.
class Picker {
 public:
  Picker(const Options& o, std::size_t count, int index)
      : count_(count), next_(static_cast<std::size_t>(index) * (count / static_cast<std::size_t>(o.senders) + 1)),
        rng_(std::uint64_t{0x9e3779b97f4a7c15} * static_cast<std::uint64_t>(index + 1)) {
    if (o.zipf <= 0) return;
    captures_ = count / static_cast<std::size_t>(o.domains);
    double sum = 0;
    for (long i = 0; i < o.domains; ++i) cdf_.push_back(sum += 1.0 / std::pow(static_cast<double>(i + 1), o.zipf));
    for (double& c : cdf_) c /= sum;
  }
  std::size_t next() {
    if (cdf_.empty()) return next_++ % count_;
    rng_ ^= rng_ << 13;  // xorshift64
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    const double u = static_cast<double>(rng_ >> 11) / 9007199254740992.0;
    const auto domain = static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return std::min(domain, cdf_.size() - 1) * captures_ + next_++ % captures_;
  }

 private:
  std::size_t count_;
  std::size_t next_;
  std::uint64_t rng_;
  std::size_t captures_ = 0;
  std::vector<double> cdf_;
};

Counts runSender(const Options& o, const std::vector<std::string>& datagrams, int index) {
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::memcpy(to.sun_path, o.socket.data(), o.socket.size());
  Counts counts;
  const double share = o.rate / o.senders;  // datagrams/s of this sender (0: unpaced)
  const std::int64_t start = nowNs();
  const std::int64_t end = start + static_cast<std::int64_t>(o.seconds * 1e9);
  Picker pick(o, datagrams.size(), index);  // senders start at different datagrams
  std::uint64_t attempts = 0;
  for (std::int64_t now = start; now < end; now = nowNs()) {
    const auto due = share > 0 ? static_cast<std::uint64_t>(share * static_cast<double>(now - start) / 1e9)
                               : attempts + 64;
    while (attempts < due) {
      sendOne(to, datagrams[pick.next()], counts);
      ++attempts;
    }
    if (share > 0) {
      timespec step{0, 1'000'000};  // 1 ms: sends come in small bursts, as from many smtp(8)
      ::nanosleep(&step, nullptr);
    }
  }
  return counts;
}

double cpuSeconds(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto captures = loadDatagrams(o.dir);
  const auto datagrams = o.domains > 0 ? renamedDatagrams(captures, o.domains) : captures;
  std::vector<int> reads;
  std::vector<pid_t> pids;
  const std::int64_t start = nowNs();
  for (int i = 0; i < o.senders; ++i) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      ::close(fds[0]);
      Counts c = runSender(o, datagrams, i);
      ::_exit(::write(fds[1], &c, sizeof c) == sizeof c ? 0 : 1);
    }
    ::close(fds[1]);
    reads.push_back(fds[0]);
    pids.push_back(pid);
  }
  Counts total;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    Counts c;
    if (::read(reads[i], &c, sizeof c) == sizeof c) {
      total.sent += c.sent;
      total.lost += c.lost;
      total.errors += c.errors;
    }
    ::close(reads[i]);
    ::waitpid(pids[i], nullptr, 0);
  }
  const double seconds = static_cast<double>(nowNs() - start) / 1e9;
  rusage children{};
  ::getrusage(RUSAGE_CHILDREN, &children);
  std::printf("{\"sent\": %llu, \"lost\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"rate\": %.1f, "
              "\"sender_cpu_seconds\": %.3f}\n",
              static_cast<unsigned long long>(total.sent), static_cast<unsigned long long>(total.lost),
              static_cast<unsigned long long>(total.errors), seconds, static_cast<double>(total.sent) / seconds,
              cpuSeconds(children));
  return total.errors == 0 ? 0 : 1;
}
