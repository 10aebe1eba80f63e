// kill -9 of the mail-log reader at random moments while a writer process appends 100,000
// fixture lines with a rename rotation in the middle. Each reader (a forked child, one LMDB
// env per process as tests/cache/lmdb_crash_test.cpp does) resumes from the position it finds
// in the store and commits, per batch and in ONE transaction, what it counted together with
// the position after it. At the end every line (or every session) is counted exactly once.
// Two readers: the follower with a test consumer counting line ids, and the real
// MaillogCollector (thread, pump, correlator) counting sessions.
#include "postfix/maillog_line.hpp"
#include "tests/tlsrpt/maillog_stress_support.hpp"
#include "tlsrpt/maillog_collector.hpp"
#include "tlsrpt/maillog_file_follower.hpp"

#include <doctest/doctest.h>

#include <poll.h>

#include <chrono>
#include <map>
#include <random>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr std::size_t Lines = 100000;
constexpr int Kills = 6;

UnixSeconds wallNow() { return SystemClock().now(); }

struct Store {
  std::shared_ptr<cache::LmdbEnv> env;
  MDB_dbi dbi = 0;
};

Store openStore(const std::string& dir) {
  auto env = cache::LmdbEnv::open({dir});
  if (!env) ::_exit(20);
  auto dbi = (*env)->openStore(StressStore);
  if (!dbi) ::_exit(21);
  return {*env, *dbi};
}

std::string storedPosition(const Store& s) {
  cache::ReadTxn txn;
  if (!s.env->beginRead(txn)) ::_exit(22);
  std::string_view v;
  auto got = txn.get(s.dbi, "p", v);
  if (!got) ::_exit(23);
  return *got ? std::string(v) : std::string();
}

MaillogPosition decoded(const std::string& record) {
  if (record.empty()) return std::monostate{};
  auto p = decodeMaillogPosition(record);
  if (!p) ::_exit(24);
  return *p;
}

// True once the writer is done and the stored position is the end of the file at the path.
bool caughtUp(const Store& s, const std::string& log) {
  if (!exists(log + ".done")) return false;
  const auto p = decoded(storedPosition(s));
  const auto* f = std::get_if<FilePosition>(&p);
  struct stat st {};
  return f != nullptr && ::stat(log.c_str(), &st) == 0 && f->inode == st.st_ino &&
         f->offset == static_cast<std::uint64_t>(st.st_size);
}

void signalReady(int fd) {
  if (fd >= 0 && ::write(fd, "r", 1) != 1) ::_exit(25);
}

// Child: follower + a consumer that commits the ids of up to 500 lines and the position
// after them in one txn. The start position is committed before anything is read.
[[noreturn]] void lineReader(const std::string& dir, const std::string& log, int ready_fd, bool until_done) {
  const Store s = openStore(dir);
  MaillogFileOptions o;
  o.path = log;
  o.rotate_wait = 1;
  MaillogFileFollower f(o);
  if (!f.start(decoded(storedPosition(s)), wallNow())) ::_exit(26);
  std::vector<long> ids;
  const auto commit = [&] {
    const std::string position = encodeMaillogPosition(f.position());
    auto r = s.env->write([&](cache::WriteTxn& txn) -> Result<void> {
      for (const long id : ids) {
        if (auto b = bump(txn, s.dbi, "i" + std::to_string(id)); !b) return b;
      }
      return txn.put(s.dbi, "p", position);
    });
    if (!r) ::_exit(27);
    ids.clear();
  };
  commit();
  signalReady(ready_fd);
  struct Visitor final : MaillogVisitor {
    std::vector<long>* ids;
    bool line(std::string_view l) override {
      ids->push_back(lineId(l));
      return true;
    }
    bool message(std::string_view, std::uint32_t, std::string_view, UnixSeconds) override { return true; }
  } v;
  v.ids = &ids;
  for (;;) {
    const bool done = until_done && exists(log + ".done");
    const ReadOutcome out = f.read(v, 500, done ? wallNow() + 3600 : wallNow());
    if (!ids.empty()) commit();
    if (out != ReadOutcome::Idle) continue;
    if (done && caughtUp(s, log)) ::_exit(0);
    pollfd p{f.waitFd(), POLLIN, 0};
    ::poll(&p, 1, 20);
    f.clearWakeup();
  }
}

// Child: the real collector; its sink commits one count per session and the position in one
// txn per batch.
[[noreturn]] void sessionReader(const std::string& dir, const std::string& log, int ready_fd, bool until_done) {
  const Store s = openStore(dir);
  MaillogFileOptions fo;
  fo.path = log;
  fo.rotate_wait = 1;
  MaillogCollectorOptions co;
  co.poll_interval_ms = 50;
  co.pump.max_batch_entries = 2000;  // many cuts: many moments to be killed between
  SystemClock clock;
  bool first = true;
  MaillogCollector collector(std::make_unique<MaillogFileFollower>(fo), co, [&](MaillogBatch&& b) {
    const std::string position = encodeMaillogPosition(b.position);
    auto r = s.env->write([&](cache::WriteTxn& txn) -> Result<void> {
      for (const auto& session : b.sessions) {
        if (auto c = bump(txn, s.dbi, "s" + session.queue_id + "|" + session.mx_host); !c) return c;
      }
      return txn.put(s.dbi, "p", position);
    });
    if (!r) ::_exit(28);
    if (!b.quiescent) {  // a forced cut would make a restart inexact
      std::fprintf(stderr, "forced cut: %zu in flight, %llu entries\n", b.in_flight, static_cast<unsigned long long>(b.entries));
      ::_exit(31);
    }
    if (std::exchange(first, false)) signalReady(ready_fd);
  }, clock);
  if (!collector.start(storedPosition(s))) ::_exit(29);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!collector.stats().running) ::_exit(30);
    if (until_done && caughtUp(s, log)) {
      collector.stop();
      ::_exit(0);
    }
  }
}

using Reader = void (*)(const std::string&, const std::string&, int, bool);

pid_t spawn(Reader reader, const std::string& dir, const std::string& log, int ready_fd, bool until_done) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) reader(dir, log, ready_fd, until_done);
  return pid;
}

// Runs the writer and a reader killed Kills times at random moments, then one that runs until
// everything is committed. Returns the store's counts (opened once every child is gone).
std::map<std::string, long> runWithKills(Reader reader, const std::vector<std::string>& lines, std::uint32_t seed) {
  TempDir tmp;
  const std::string dir = tmp.file("state");
  const std::string log = tmp.file("mail.log");
  append(log, "");  // as logrotate's create leaves it: the first reader starts at its end (0)
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t first = spawn(reader, dir, log, ready[1], false);
  pollfd p{ready[0], POLLIN, 0};
  REQUIRE(::poll(&p, 1, 20000) == 1);  // the start position is committed
  const pid_t writer = startWriter(log, lines, Rotation::Rename, lines.size() / 2, 100);
  std::mt19937 rng(seed);
  pid_t current = first;
  for (int k = 0; k < Kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng)));
    REQUIRE(::kill(current, SIGKILL) == 0);
    CHECK(waitChild(current) == -SIGKILL);
    current = spawn(reader, dir, log, -1, false);
  }
  ::kill(current, SIGKILL);
  waitChild(current);
  CHECK(waitChild(writer) == 0);
  const pid_t last = spawn(reader, dir, log, -1, true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (::waitpid(last, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    ::kill(last, SIGKILL);
    waitChild(last);
    FAIL("the last reader did not catch up in time");
  }
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  ::close(ready[1]);

  std::map<std::string, long> counts;
  auto env = cache::LmdbEnv::open({dir});
  REQUIRE(env);
  auto dbi = (*env)->openStore(StressStore);
  REQUIRE(dbi);
  cache::ReadTxn txn;
  REQUIRE((*env)->beginRead(txn));
  REQUIRE(cache::scanPrefix(txn.raw(), *dbi, "", [&](std::string_view k, std::string_view v) {
    if (k != "p") counts[std::string(k)] = std::stol(std::string(v));
    return true;
  }));
  return counts;
}

}  // namespace

TEST_CASE("kill -9 of the follower's consumer at random moments: every line is committed exactly once") {
  const std::uint32_t seed = std::random_device{}();
  CAPTURE(seed);
  const auto counts = runWithKills(lineReader, stressLines(Lines, true), seed);
  CHECK(counts.size() == Lines);
  std::size_t wrong = 0;
  for (std::size_t id = 0; id < Lines; ++id) {
    const auto it = counts.find("i" + std::to_string(id));
    if (it == counts.end() || it->second != 1) {
      if (++wrong <= 5) FAIL_CHECK("line " << id << " counted " << (it == counts.end() ? 0 : it->second) << " times");
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("kill -9 of the collector at random moments: every session is committed exactly once") {
  const std::uint32_t seed = std::random_device{}();
  CAPTURE(seed);
  // Whole copies of the fixtures (256 lines each): a stream cut inside a copy would end with a
  // handshake whose status line never comes, and its last batch could not be quiescent.
  const std::vector<std::string> lines = stressLines((Lines / 256 + 1) * 256, false);
  // What parsing the written lines directly gives.
  std::map<std::string, long> want;
  MaillogSessions direct;
  std::vector<MaillogSession> sessions;
  for (const auto& l : lines) direct.feed(postfix::parseMaillogLine(std::string_view(l).substr(0, l.size() - 1)), 0, sessions);
  for (const auto& s : sessions) want["s" + s.queue_id + "|" + s.mx_host] += 1;
  REQUIRE(sessions.size() > 10000);
  const auto counts = runWithKills(sessionReader, lines, seed);
  CHECK(counts.size() == want.size());
  std::size_t wrong = 0;
  for (const auto& [key, n] : want) {
    const auto it = counts.find(key);
    if (it == counts.end() || it->second != n) {
      if (++wrong <= 5) FAIL_CHECK(key << " counted " << (it == counts.end() ? 0 : it->second) << " times, want " << n);
    }
  }
  CHECK(wrong == 0);
}
