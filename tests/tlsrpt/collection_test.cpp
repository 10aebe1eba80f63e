// TLS-RPT collection as the daemon runs it, over a real LMDB env, a real datagram socket and
// a real log file in a temp dir: the three sources land in the store after stopSources() and
// flush(); own failures come from the policy events; mail-log sessions take the cached
// policy; a restart resumes the log where the committed counts end; the metrics counters
// equal the collector's own at scrape time. Waits are bounded polls.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "cache/lmdb_policy_store.hpp"
#include "common/metrics.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/collection.hpp"
#include "tlsrpt/collection_metrics.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;  // 2025-11-30T12:00:00Z

int sendDatagram(const std::string& path, std::string_view bytes) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  const ssize_t n =
      ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  const int err = n == static_cast<ssize_t>(bytes.size()) ? 0 : errno;
  ::close(fd);
  return err;
}

void appendTo(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}

template <typename Pred>
bool waitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Postfix 3.7 lines (tests/fixtures/maillog/postfix-3.7-e2e.log) with RFC 3339 stamps of the
// test's day, so the sessions' day does not depend on the local time zone.
const std::string Stamp = "2025-11-30T11:00:00.000000+00:00 sender ";
std::string maillogLines() {
  return Stamp + "postfix/smtp[22088]: Verified TLS connection established to mx.good.test[127.0.60.1]:25: "
                 "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n" +
         Stamp + "postfix/smtp[22088]: D791CA7299F: to=<user@good.test>, relay=mx.good.test[127.0.60.1]:25, "
                 "delay=0.2, delays=0.05/0.05/0.04/0.06, dsn=2.0.0, status=sent (250 2.0.0 OK)\n" +
         Stamp + "postfix/smtp[22096]: server certificate verification failed for mx.badname.test[127.0.60.2]:25: "
                 "num=62:hostname mismatch\n" +
         Stamp + "postfix/smtp[22096]: Untrusted TLS connection established to mx.badname.test[127.0.60.2]:25: "
                 "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n" +
         Stamp + "postfix/smtp[22096]: E93DAA729A3: to=<user@badname.test>, relay=mx.badname.test[127.0.60.2]:25, "
                 "delay=0.1, delays=0.03/0.01/0.06/0, dsn=4.7.5, status=deferred (Server certificate not verified)\n" +
         Stamp + "postfix/smtp[22094]: Untrusted TLS connection established to mx.norecord.test[127.0.60.8]:25: "
                 "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n" +
         Stamp + "postfix/smtp[22094]: 4868FA729B1: to=<user@norecord.test>, relay=mx.norecord.test[127.0.60.8]:25, "
                 "delay=0.03, delays=0/0/0.02/0.01, dsn=2.0.0, status=sent (250 2.0.0 OK)\n";
}

cache::PolicyRecord enforce(const std::string& domain) {
  cache::PolicyRecord r;
  r.kind = cache::EntryKind::Policy;
  r.txt_id = "1a";
  r.policy.mode = sts::Mode::Enforce;
  r.policy.max_age = 86400;
  r.policy.mx = {"mx." + domain};
  r.policy.lines = {{"version", "STSv1"}, {"mode", "enforce"}, {"mx", "mx." + domain}, {"max_age", "86400"}};
  r.fetched_at = Noon - 60;
  r.expires_at = Noon + 86400;
  return r;
}

struct World {
  TempDir dir;
  ManualClock clock{Noon};
  std::shared_ptr<cache::LmdbEnv> env;
  std::string socket = dir.file("tlsrpt.sock");
  std::string log = dir.file("mail.log");

  World() {
    cache::LmdbOptions options;
    options.dir = dir.file("state");
    auto opened = cache::LmdbEnv::open(options);
    REQUIRE(opened);
    env = std::move(*opened);
    auto policies = cache::LmdbPolicyStore::attach(env);
    REQUIRE(policies);
    REQUIRE((*policies)->put("good.test", enforce("good.test")));
    REQUIRE((*policies)->put("badname.test", enforce("badname.test")));
    appendTo(log, "");
  }

  CollectionOptions options(bool datagrams = true, bool maillog = true) const {
    CollectionOptions o;
    o.committer.interval = std::chrono::milliseconds(50);
    if (datagrams) {
      DatagramCollectorOptions d;
      d.path = socket;
      d.permissions.mode = 0600;
      d.coalesce = std::chrono::microseconds(0);
      o.datagrams = d;
    }
    if (maillog) o.maillog = log;
    o.maillog_collector.poll_interval_ms = 20;
    o.maillog_collector.coalesce_ms = 0;
    o.maillog_collector.pump.batch_interval = 3600;  // batches at stop (the manual clock stands still)
    return o;
  }

  std::vector<DayEntry> stored() {
    auto store = DayStore::attach(env);
    REQUIRE(store);
    auto entries = (*store)->entries(utcDayOf(Noon));
    REQUIRE(entries);
    return *entries;
  }
};

const DayEntry* find(const std::vector<DayEntry>& entries, const std::string& domain, PolicyType type) {
  for (const auto& e : entries) {
    if (e.domain == domain && e.counts.policy.type == type) return &e;
  }
  return nullptr;
}

std::uint64_t source(const DayEntry& e, SessionSource s) { return e.sources[static_cast<std::size_t>(s)]; }

policy::LookupEvent fetchFailed(std::string_view domain) {
  policy::LookupEvent event;
  event.domain = domain;
  event.answer = postfix::PolicyAnswer::Kind::NoPolicy;
  event.path = policy::LookupPath::Resolved;
  event.cache = policy::CacheState::Missing;
  event.fetch_failure = policy::FetchFailure{TlsRptResultType::StsWebpkiInvalid, "certificate has expired"};
  return event;
}

double sample(const metrics::Registry& registry, std::string_view name, std::string_view label = {}) {
  for (const auto& f : registry.collect()) {
    if (f.name != name) continue;
    for (const auto& s : f.series) {
      if (label.empty() || (!s.label_values.empty() && s.label_values[0] == label)) return s.value;
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("datagrams, the mail log and own fetch failures all reach the store, each under its source") {
  World w;
  TlsRptCollection c(w.clock, w.options());
  REQUIRE(c.bindSocket());
  REQUIRE(c.start(w.env));
  CHECK(c.datagramsRunning());
  REQUIRE(waitFor([&] { auto s = c.maillogStats(); return s && s->pump.batches >= 1; }));  // the start position

  for (int i = 0; i < 3; ++i) REQUIRE(sendDatagram(w.socket, fixtureBytes("pf311-good-success.dgram")) == 0);
  REQUIRE(sendDatagram(w.socket, "{\"dpv\": \"1\", broken") == 0);
  appendTo(w.log, maillogLines());
  c.lookupAnswered(fetchFailed("Expired.test"));
  c.lookupAnswered(fetchFailed("expired.test"));
  policy::LookupEvent hit;  // a lookup answered from a valid policy: not a session
  hit.domain = "good.test";
  hit.answer = postfix::PolicyAnswer::Kind::Enforce;
  c.lookupAnswered(hit);

  REQUIRE(waitFor([&] { return c.stats().received.load() == 4; }));
  REQUIRE(waitFor([&] { return c.maillogStats()->pump.entries == 7; }));
  c.stopSources();
  REQUIRE(c.flush());
  CHECK(std::filesystem::exists(w.socket));  // removed only when the collection goes

  const auto entries = w.stored();
  const DayEntry* dgram = nullptr;
  for (const auto& e : entries) {
    if (e.domain == "good.test" && !e.tlsrpt_record.empty()) dgram = &e;
  }
  REQUIRE(dgram != nullptr);
  CHECK(dgram->counts.successful_sessions == 3);
  CHECK(source(*dgram, SessionSource::Datagram) == 3);
  CHECK(c.stats().rejected_invalid.load() == 1);

  // The mail log: the cached policy for good.test and badname.test, none for norecord.test.
  const DayEntry* good = nullptr;
  for (const auto& e : entries) {
    if (e.domain == "good.test" && e.tlsrpt_record.empty()) good = &e;
  }
  REQUIRE(good != nullptr);
  CHECK(good->counts.policy.type == PolicyType::Sts);
  CHECK(good->counts.policy.strings ==
        std::vector<std::string>{"version: STSv1", "mode: enforce", "mx: mx.good.test", "max_age: 86400"});
  CHECK(good->counts.policy.mx_hosts == std::vector<std::string>{"mx.good.test"});
  CHECK(good->counts.successful_sessions == 1);
  CHECK(source(*good, SessionSource::Maillog) == 1);
  const DayEntry* bad = find(entries, "badname.test", PolicyType::Sts);
  REQUIRE(bad != nullptr);
  CHECK(bad->counts.failed_sessions == 1);
  REQUIRE(bad->counts.failures.size() == 1);
  CHECK(bad->counts.failures[0].detail.result == TlsRptResultType::CertificateHostMismatch);
  CHECK(bad->counts.failures[0].detail.receiving_ip == "127.0.60.2");
  const DayEntry* none = find(entries, "norecord.test", PolicyType::NoPolicyFound);
  REQUIRE(none != nullptr);
  CHECK(none->counts.successful_sessions == 1);

  // Own failures: one sts failure session per lookup, reason as failure-reason-code.
  const DayEntry* own = find(entries, "expired.test", PolicyType::Sts);
  REQUIRE(own != nullptr);
  CHECK(own->counts.failed_sessions == 2);
  CHECK(source(*own, SessionSource::OwnFailure) == 2);
  REQUIRE(own->counts.failures.size() == 1);
  CHECK(own->counts.failures[0].detail.result == TlsRptResultType::StsWebpkiInvalid);
  CHECK(own->counts.failures[0].detail.failure_reason_code == "certificate has expired");
  CHECK(own->counts.policy.strings.empty());
  CHECK(entries.size() == 5);
}

TEST_CASE("a restarted collection resumes the mail log where the committed counts end") {
  World w;
  {
    TlsRptCollection c(w.clock, w.options(false, true));
    REQUIRE(c.start(w.env));
    REQUIRE(waitFor([&] { auto s = c.maillogStats(); return s && s->pump.batches >= 1; }));
    appendTo(w.log, maillogLines());
    REQUIRE(waitFor([&] { return c.maillogStats()->pump.entries == 7; }));
    c.stopSources();
    REQUIRE(c.flush());
  }
  appendTo(w.log, maillogLines());  // written while "mtastsd" was down
  {
    TlsRptCollection c(w.clock, w.options(false, true));
    REQUIRE(c.start(w.env));
    REQUIRE(waitFor([&] { auto s = c.maillogStats(); return s && s->pump.entries == 7; }));
    c.stopSources();
    REQUIRE(c.flush());
  }
  const auto entries = w.stored();
  const DayEntry* none = find(entries, "norecord.test", PolicyType::NoPolicyFound);
  REQUIRE(none != nullptr);
  CHECK(none->counts.successful_sessions == 2);  // each line once
  const DayEntry* bad = find(entries, "badname.test", PolicyType::Sts);
  REQUIRE(bad != nullptr);
  CHECK(bad->counts.failed_sessions == 2);
}

TEST_CASE("a collection that cannot bind its socket still counts the other sources") {
  World w;
  CollectionOptions o = w.options(true, false);
  o.datagrams->path = w.dir.file("missing-dir/tlsrpt.sock");
  TlsRptCollection c(w.clock, o);
  CHECK_FALSE(c.bindSocket());
  REQUIRE(c.start(w.env));
  CHECK_FALSE(c.datagramsRunning());
  c.lookupAnswered(fetchFailed("expired.test"));
  c.stopSources();
  REQUIRE(c.flush());
  const auto entries = w.stored();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].counts.failed_sessions == 1);
}

TEST_CASE("the metrics counters equal the collector's own counters at scrape time") {
  World w;
  metrics::Registry registry;
  TlsRptCollection c(w.clock, w.options(true, false));
  REQUIRE(c.bindSocket());
  REQUIRE(c.start(w.env));
  auto m = CollectionMetrics::create(registry, c);
  REQUIRE(m);
  for (int i = 0; i < 5; ++i) REQUIRE(sendDatagram(w.socket, fixtureBytes("pf311-good-success.dgram")) == 0);
  REQUIRE(sendDatagram(w.socket, std::string(10, '{')) == 0);
  REQUIRE(waitFor([&] { return c.stats().received.load() == 6; }));
  c.lookupAnswered(fetchFailed("expired.test"));
  REQUIRE(waitFor([&] { return c.stats().commits.load() >= 1 && c.stats().last_commit.load() != 0; }));
  CHECK(sample(registry, "mtastsd_tlsrpt_datagrams_received_total") == 6);
  CHECK(sample(registry, "mtastsd_tlsrpt_datagrams_accepted_total") == 5);
  CHECK(sample(registry, "mtastsd_tlsrpt_datagrams_rejected_total", "invalid") == 1);
  CHECK(sample(registry, "mtastsd_tlsrpt_sessions_total", "datagram") == 5);
  CHECK(sample(registry, "mtastsd_tlsrpt_sessions_total", "own-failure") == 1);
  CHECK(sample(registry, "mtastsd_tlsrpt_sessions_total", "maillog") == 0);
  CHECK(sample(registry, "mtastsd_tlsrpt_socket_up") == 1);
  CHECK(sample(registry, "mtastsd_tlsrpt_maillog_up") == 0);
  CHECK(sample(registry, "mtastsd_tlsrpt_last_commit_timestamp_seconds") == static_cast<double>(Noon));
  CHECK(sample(registry, "mtastsd_tlsrpt_commits_total") == static_cast<double>(c.stats().commits.load()));
  // A second scrape adds nothing that did not happen.
  CHECK(sample(registry, "mtastsd_tlsrpt_datagrams_received_total") == 6);
  c.stopSources();
  CHECK(sample(registry, "mtastsd_tlsrpt_socket_up") == 0);
  m->reset();
}
