// maillog_throughput: lines per second and CPU per line of the mail-log parser plus session
// correlator (issue 9: at least 500,000 lines/s on one core). Builds an N-line mixed log in
// memory from the real Postfix 3.7 fixture logs (tests/fixtures/maillog): their lines in
// order, smtp/tlsproxy pids shifted per copy, interleaved with lines of other programs and
// other Postfix daemons so that a chosen share is not smtp/tlsproxy. Then runs
// parseMaillogLine + MaillogSessions::feed over it ROUNDS times, single-threaded, and prints
// wall and CPU time per round and the median. Links the project libraries (not standalone
// like socketmap_load). Usage: maillog_throughput [--lines N] [--other-share 0.7]
// [--rounds R] [--fixtures DIR] [--file PATH [--cold]]. Exit 1 when a round's session count
// differs from another's. --file writes the log to PATH and reads it back the way the daemon
// does: MaillogFileFollower (pread, line buffer, positions) + MaillogPump (parser, correlator
// with each line's own time, batches cut at quiescent points) on one thread; --cold drops the
// page cache before each round (root: sync; echo 3 > /proc/sys/vm/drop_caches).
#include "postfix/maillog_line.hpp"
#include "tlsrpt/maillog_file_follower.hpp"
#include "tlsrpt/maillog_pump.hpp"
#include "tlsrpt/maillog_sessions.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace mtasts;

std::int64_t clockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  std::size_t lines = 1'000'000;
  double other_share = 0.7;
  int rounds = 5;
  std::string fixtures = MTASTS_MAILLOG_FIXTURES;
  std::string file;   // --file: read the log from disk through the follower
  bool cold = false;  // --cold: drop the page cache before each round
};

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--cold") {
      o.cold = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      std::exit(2);
    }
    if (flag == "--lines") o.lines = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--other-share") o.other_share = std::strtod(argv[i + 1], nullptr);
    else if (flag == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (flag == "--fixtures") o.fixtures = argv[i + 1];
    else if (flag == "--file") o.file = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  o.rounds = std::max(o.rounds, 1);
  o.other_share = std::clamp(o.other_share, 0.0, 0.99);
  return o;
}

// Lines of other programs, as a mail server's syslog has them around Postfix's smtp lines.
const char* const kOther[] = {
    "Dec 01 00:39:33 sender postfix/qmgr[22012]: 0B06EA72179: from=<e2e@sender.e2e.test>, "
    "size=382, nrcpt=1 (queue active)",
    "Dec 01 00:39:33 sender postfix/cleanup[22081]: 1C40AA7217E: message-id=<e2e-5a5bbb2704134"
    "19986352c51ff31ced5@sender.e2e.test>",
    "Dec 01 00:39:33 sender postfix/smtpd[3141]: connect from client.example.org[198.51.100.23]",
    "Dec 01 00:39:33 sender postfix/smtpd[3141]: Anonymous TLS connection established from "
    "client.example.org[198.51.100.23]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
    "Dec 01 00:39:33 sender postfix/qmgr[22012]: D791CA7299F: removed",
    "Dec 01 00:39:34 sender dovecot: imap-login: Login: user=<alice@example.org>, method=PLAIN, "
    "rip=198.51.100.9, lip=192.0.2.1, mpid=4242, TLS, session=<AbCdEfGh1234>",
    "Dec 01 00:39:34 sender opendkim[812]: 0B06EA72179: DKIM-Signature field added (s=mail, "
    "d=example.org)",
    "Dec 01 00:39:35 sender CRON[9001]: (root) CMD (command -v debian-sa1 > /dev/null && "
    "debian-sa1 1 1)",
    "Dec 01 00:39:35 sender sshd[777]: Accepted publickey for admin from 203.0.113.7 port 52144 "
    "ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "Dec 01 00:39:36 sender postfix/anvil[22100]: statistics: max connection rate 1/60s for "
    "(smtp:198.51.100.23) at Dec  1 00:39:33",
};

// The fixture logs' smtp(8)/tlsproxy(8) lines, in order; the other Postfix lines join kOther.
std::vector<std::string> readFixtures(const std::string& dir, std::vector<std::string>& other) {
  std::vector<std::string> smtp;
  for (const char* name : {"postfix-3.7-e2e.log", "postfix-3.7-capture.log",
                           "postfix-3.7-tlsproxy.log", "postfix-3.7-relayhost.log"}) {
    std::ifstream in(dir + "/" + name);
    if (!in) {
      std::fprintf(stderr, "cannot read %s/%s\n", dir.c_str(), name);
      std::exit(2);
    }
    std::string line;
    while (std::getline(in, line)) {
      const bool ours = line.find(" postfix/smtp[") != std::string::npos ||
                        line.find(" postfix/tlsproxy[") != std::string::npos;
      (ours ? smtp : other).push_back(line);
    }
  }
  for (const char* line : kOther) other.emplace_back(line);
  return smtp;
}

// "...[22096]: ..." -> "...[<pid + shift>]: ...": each copy of the fixtures runs in its own
// processes, as a day of smtp(8) processes would.
std::string shiftPid(const std::string& line, unsigned shift) {
  const auto open = line.find('[');
  const auto close = line.find("]: ", open);
  const unsigned pid = static_cast<unsigned>(std::strtoul(line.c_str() + open + 1, nullptr, 10));
  return line.substr(0, open + 1) + std::to_string(pid + shift) + line.substr(close);
}

std::string buildLog(const Options& o, std::size_t& smtp_lines) {
  std::vector<std::string> other;
  const std::vector<std::string> smtp = readFixtures(o.fixtures, other);
  std::string log;
  log.reserve(o.lines * 150);
  smtp_lines = 0;
  std::size_t total = 0, next_smtp = 0, next_other = 0, copy = 0;
  while (total < o.lines) {
    // Keep the share of other lines at other_share: emit one when below it.
    const bool want_other =
        static_cast<double>(total - smtp_lines) < o.other_share * static_cast<double>(total + 1);
    if (want_other) {
      log += other[next_other++ % other.size()];
    } else {
      log += shiftPid(smtp[next_smtp], static_cast<unsigned>((copy % 64) * 100'000));
      ++smtp_lines;
      if (++next_smtp == smtp.size()) {
        next_smtp = 0;
        ++copy;
      }
    }
    log += '\n';
    ++total;
  }
  return log;
}

struct Round {
  double wall_s, cpu_s;
  std::uint64_t sessions;
  double parse_cpu_s = 0;  // the parser alone over the same log, for the split
};

// The parser alone: what the correlator adds is the difference to runOnce().
double parseOnlyCpu(const std::string& log) {
  std::uint64_t kinds = 0;
  const std::int64_t cpu0 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  std::string_view rest = log;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    kinds += static_cast<std::uint64_t>(postfix::parseMaillogLine(rest.substr(0, nl)).kind);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  const std::int64_t cpu1 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  if (kinds == 0) std::puts("");  // keeps the loop from being optimised away
  return static_cast<double>(cpu1 - cpu0) / 1e9;
}

Round runOnce(const std::string& log) {
  tlsrpt::MaillogSessions sessions;
  std::vector<tlsrpt::MaillogSession> out;
  out.reserve(64);
  std::uint64_t emitted = 0;
  UnixSeconds now = 1'764'547'200;
  const std::int64_t wall0 = clockNs(CLOCK_MONOTONIC);
  const std::int64_t cpu0 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  std::string_view rest = log;
  std::size_t n = 0;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if ((++n & 0x3ff) == 0) ++now;  // about 1000 lines a second of log time
    sessions.feed(postfix::parseMaillogLine(line), now, out);
    emitted += out.size();
    out.clear();  // the aggregate would take them here
  }
  const std::int64_t cpu1 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  const std::int64_t wall1 = clockNs(CLOCK_MONOTONIC);
  return {static_cast<double>(wall1 - wall0) / 1e9, static_cast<double>(cpu1 - cpu0) / 1e9, emitted};
}

// The daemon's path: the file on disk through the follower and the pump, from offset 0.
void dropPageCache() {
  ::sync();
  FILE* f = std::fopen("/proc/sys/vm/drop_caches", "w");
  if (f == nullptr || std::fputs("3\n", f) < 0 || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot drop the page cache (root needed)\n");
    std::exit(2);
  }
}

Round runFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) std::exit(2);
  tlsrpt::MaillogFileOptions fo;
  fo.path = path;
  fo.use_inotify = false;
  tlsrpt::MaillogFileFollower follower(fo);
  const auto start = tlsrpt::filePositionAt(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), 0, "", "");
  SystemClock clock;
  if (!follower.start(start, clock.now())) std::exit(2);
  std::uint64_t emitted = 0, batches = 0;
  tlsrpt::MaillogPump pump(follower, {}, [&](tlsrpt::MaillogBatch&& b) {
    emitted += b.sessions.size();
    ++batches;
  }, clock);
  const std::int64_t wall0 = clockNs(CLOCK_MONOTONIC);
  const std::int64_t cpu0 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  while (pump.cycle()) {
  }
  pump.flush();
  const std::int64_t cpu1 = clockNs(CLOCK_PROCESS_CPUTIME_ID);
  const std::int64_t wall1 = clockNs(CLOCK_MONOTONIC);
  // The log ends inside a copy of the fixtures: the last flush has a handshake in flight.
  if (pump.stats().forced_cuts > 1) std::fprintf(stderr, "unexpected forced cuts: %llu\n", static_cast<unsigned long long>(pump.stats().forced_cuts));
  return {static_cast<double>(wall1 - wall0) / 1e9, static_cast<double>(cpu1 - cpu0) / 1e9, emitted};
}

double rusageSystemSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parseArgs(argc, argv);
  std::size_t smtp_lines = 0;
  const std::string log = buildLog(o, smtp_lines);
  std::printf("log: %zu lines, %zu smtp/tlsproxy (%.1f%%), %.1f MiB\n", o.lines, smtp_lines,
              100.0 * static_cast<double>(smtp_lines) / static_cast<double>(o.lines),
              static_cast<double>(log.size()) / (1024.0 * 1024.0));
  if (!o.file.empty()) {
    FILE* f = std::fopen(o.file.c_str(), "w");
    if (f == nullptr || std::fwrite(log.data(), 1, log.size(), f) != log.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "cannot write %s\n", o.file.c_str());
      return 2;
    }
    std::printf("file: %s (%s page cache), follower + pump (parser, correlator, batches)\n", o.file.c_str(),
                o.cold ? "cold" : "warm");
  }
  std::vector<Round> rounds;
  for (int r = 0; r < o.rounds; ++r) {
    if (o.cold) dropPageCache();
    const double sys0 = rusageSystemSeconds();
    rounds.push_back(o.file.empty() ? runOnce(log) : runFile(o.file));
    Round& x = rounds.back();
    const double sys_s = rusageSystemSeconds() - sys0;
    x.parse_cpu_s = o.file.empty() ? parseOnlyCpu(log) : sys_s;
    std::printf(o.file.empty() ? "round %d: wall %.3f s  cpu %.3f s  %.0f lines/s  %.0f ns/line (cpu, parser "
                                 "alone %.0f)  sessions %llu\n"
                               : "round %d: wall %.3f s  cpu %.3f s  %.0f lines/s  %.0f ns/line (cpu, of it "
                                 "system %.0f)  sessions %llu\n",
                r + 1, x.wall_s, x.cpu_s, static_cast<double>(o.lines) / x.wall_s,
                x.cpu_s * 1e9 / static_cast<double>(o.lines),
                x.parse_cpu_s * 1e9 / static_cast<double>(o.lines),
                static_cast<unsigned long long>(x.sessions));
  }
  for (const Round& x : rounds) {
    if (x.sessions != rounds.front().sessions) {
      std::fprintf(stderr, "session counts differ between rounds\n");
      return 1;
    }
  }
  std::vector<Round> sorted = rounds;
  std::sort(sorted.begin(), sorted.end(), [](const Round& a, const Round& b) { return a.cpu_s < b.cpu_s; });
  const Round& median = sorted[sorted.size() / 2];
  std::printf("median: %.0f lines/s (wall), %.0f lines/s per CPU second, %.0f ns/line (cpu), "
              "%llu sessions\n",
              static_cast<double>(o.lines) / median.wall_s,
              static_cast<double>(o.lines) / median.cpu_s,
              median.cpu_s * 1e9 / static_cast<double>(o.lines),
              static_cast<unsigned long long>(median.sessions));
  return 0;
}
