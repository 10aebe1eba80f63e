// The pump over a real followed file: the real Postfix 3.7 logs written in odd-sized pieces
// give exactly the sessions of parsing the files directly; batches are cut by time, size and
// at points where no handshake waits for its status line, each with the position after it.
#include "postfix/maillog_line.hpp"
#include "tests/tlsrpt/maillog_file_support.hpp"
#include "tlsrpt/maillog_file_follower.hpp"
#include "tlsrpt/maillog_pump.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Dec1 = 1764547200;  // 2025-12-01T00:00:00Z, the fixtures' day

const char* const TlsLine =
    "Dec 01 00:39:32 sender postfix/smtp[22088]: Verified TLS connection established to "
    "mx.good.test[127.0.60.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n";
const char* const StatusLine =
    "Dec 01 00:39:33 sender postfix/smtp[22088]: D791CA7299F: to=<user@good.test>, "
    "relay=mx.good.test[127.0.60.1]:25, delay=0.2, delays=0.05/0.05/0.04/0.06, dsn=2.0.0, "
    "status=sent (250 2.0.0 OK stored by mx.good.test)\n";
const char* const OtherLine = "Dec 01 00:39:33 sender postfix/qmgr[22012]: D791CA7299F: removed\n";

struct Rig {
  TempDir dir;
  std::string log = dir.file("mail.log");
  ManualClock clock{Dec1 + 3600};
  std::optional<MaillogBatch> start_batch;  // the first cycle's: the start position alone
  std::vector<MaillogBatch> batches;         // the others
  std::unique_ptr<MaillogFileFollower> follower;
  std::unique_ptr<MaillogPump> pump;

  explicit Rig(MaillogPumpOptions options = {}) {
    append(log, "");
    MaillogFileOptions fo;
    fo.path = log;
    fo.use_inotify = false;
    follower = std::make_unique<MaillogFileFollower>(fo);
    REQUIRE(follower->start(std::monostate{}, clock.now()));
    pump = std::make_unique<MaillogPump>(*follower, options, [this](MaillogBatch&& b) {
      if (start_batch) batches.push_back(std::move(b));
      else start_batch = std::move(b);
    }, clock);
  }
  void cycleUntilIdle() {
    for (int i = 0; i < 1000 && pump->cycle(); ++i) {
    }
  }
  std::uint64_t offsetOf(const MaillogBatch& b) const { return std::get<FilePosition>(b.position).offset; }
  std::size_t sessions() const {
    std::size_t n = 0;
    for (const auto& b : batches) n += b.sessions.size();
    return n;
  }
};

std::string readFixture(const char* name) { return slurp(std::string(MTASTS_MAILLOG_FIXTURES) + "/" + name); }

}  // namespace

TEST_CASE("the fixture logs followed in odd-sized pieces give the sessions of parsing the files directly") {
  for (const char* name : {"postfix-3.7-e2e.log", "postfix-3.7-capture.log", "postfix-3.7-tlsproxy.log",
                           "postfix-3.7-relayhost.log"}) {
    CAPTURE(name);
    const std::string text = readFixture(name);
    MaillogSessions direct;
    std::vector<MaillogSession> want;
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      direct.feed(postfix::parseMaillogLine(rest.substr(0, nl)), Dec1, want);
      rest.remove_prefix(nl + 1);
    }
    REQUIRE(!want.empty());

    MaillogPumpOptions options;
    options.max_batch_entries = 7;  // many cuts, at quiescent points
    Rig rig(options);
    for (std::size_t at = 0, step = 1; at < text.size(); at += step, step = step * 7 % 601 + 1) {
      append(rig.log, std::string_view(text).substr(at, step));
      rig.cycleUntilIdle();
    }
    rig.clock.advance(60);
    rig.cycleUntilIdle();
    std::vector<MaillogSession> got;
    for (auto& b : rig.batches) {
      CHECK(b.position_key == "file:" + rig.log);
      got.insert(got.end(), b.sessions.begin(), b.sessions.end());
    }
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i].policy_domain == want[i].policy_domain);
      CHECK(got[i].mx_host == want[i].mx_host);
      CHECK(got[i].success == want[i].success);
      CHECK(got[i].failure.result == want[i].failure.result);
      CHECK(got[i].failure.failure_reason_code == want[i].failure.failure_reason_code);
      CHECK(got[i].queue_id == want[i].queue_id);
      CHECK(got[i].at / 86400 == Dec1 / 86400);  // the line's own day, from its stamp
    }
    REQUIRE(!rig.batches.empty());
    CHECK(rig.offsetOf(rig.batches.back()) == text.size());
    for (std::size_t i = 1; i < rig.batches.size(); ++i) CHECK(rig.offsetOf(rig.batches[i - 1]) < rig.offsetOf(rig.batches[i]));
    CHECK(rig.pump->stats().forced_cuts == 0);
    CHECK(rig.pump->stats().untimed == 0);
  }
}

TEST_CASE("a batch due by time waits for the status line of a handshake in flight, then cuts after it") {
  Rig rig;
  append(rig.log, std::string(OtherLine) + TlsLine);
  rig.cycleUntilIdle();
  CHECK(rig.batches.empty());
  rig.clock.advance(2);
  rig.cycleUntilIdle();
  CHECK(rig.batches.empty());  // due, but a handshake waits for its status line
  CHECK(rig.pump->nextDue() == rig.clock.now() + 10);
  append(rig.log, std::string(StatusLine) + OtherLine);
  rig.cycleUntilIdle();
  REQUIRE(rig.batches.size() == 1);
  const MaillogBatch& b = rig.batches[0];
  CHECK(b.quiescent);
  CHECK(b.sessions.size() == 1);
  CHECK(b.entries == 3);  // cut right after the status line: the qmgr line is the next batch's
  CHECK(rig.offsetOf(b) == std::string(OtherLine).size() + std::string(TlsLine).size() + std::string(StatusLine).size());
  rig.clock.advance(2);
  rig.cycleUntilIdle();
  REQUIRE(rig.batches.size() == 2);
  CHECK(rig.batches[1].entries == 1);
  CHECK(rig.batches[1].sessions.empty());
}

TEST_CASE("a batch that never becomes quiescent is cut after quiescent_wait, with its handshakes in flight") {
  Rig rig;
  append(rig.log, TlsLine);
  rig.cycleUntilIdle();
  rig.clock.advance(1);
  rig.cycleUntilIdle();
  rig.clock.advance(9);
  rig.cycleUntilIdle();
  CHECK(rig.batches.empty());
  rig.clock.advance(1);
  rig.cycleUntilIdle();
  REQUIRE(rig.batches.size() == 1);
  CHECK_FALSE(rig.batches[0].quiescent);
  CHECK(rig.batches[0].in_flight == 1);
  CHECK(rig.pump->stats().forced_cuts == 1);
}

TEST_CASE("catching up, batches are cut by entry count and by session count") {
  MaillogPumpOptions options;
  options.max_batch_entries = 100;
  options.max_batch_sessions = 5;
  Rig rig(options);
  std::string text;
  for (int i = 0; i < 300; ++i) text += OtherLine;
  for (int i = 0; i < 12; ++i) text += std::string(TlsLine) + StatusLine;
  append(rig.log, text);
  rig.cycleUntilIdle();
  // 300 other lines: cuts after 100, 200, 300; then sessions: cuts after 5 and 10.
  REQUIRE(rig.batches.size() == 5);
  CHECK(rig.batches[0].entries == 100);
  CHECK(rig.batches[3].sessions.size() == 5);
  CHECK(rig.batches[4].sessions.size() == 5);
  rig.pump->flush();
  REQUIRE(rig.batches.size() == 6);
  CHECK(rig.batches[5].sessions.size() == 2);
  CHECK(rig.offsetOf(rig.batches[5]) == text.size());
  CHECK(rig.sessions() == 12);
}

TEST_CASE("the first cycle hands the start position at once, before any line") {
  Rig rig;
  append(rig.log, "Dec 01 00:39:33 sender postfix/qmgr[22012]: already there\n");
  rig.pump->cycle();
  REQUIRE(rig.start_batch);
  CHECK(rig.start_batch->entries == 0);
  CHECK(rig.start_batch->sessions.empty());
  CHECK(rig.offsetOf(*rig.start_batch) == 0);  // the file was empty when the follower started
  CHECK(rig.batches.empty());
}

TEST_CASE("a batch says when the log shows Postfix 3.10+ reporting by itself") {
  Rig rig;
  append(rig.log, std::string(TlsLine) + StatusLine);
  rig.cycleUntilIdle();
  rig.clock.advance(2);
  rig.cycleUntilIdle();
  REQUIRE(rig.batches.size() == 1);
  CHECK_FALSE(rig.batches[0].saw_tlsrpt_lines);
  append(rig.log, "Dec 01 00:39:34 sender postfix/smtp[22088]: TLSRPT: status=success, domain=good.test, "
                  "receiving_mx=mx.good.test[127.0.60.1]\n");
  rig.clock.advance(2);
  rig.cycleUntilIdle();
  rig.clock.advance(2);
  rig.cycleUntilIdle();
  REQUIRE(rig.batches.size() == 2);
  CHECK(rig.batches[1].saw_tlsrpt_lines);
}

TEST_CASE("lines of other programs never reach the correlator") {
  Rig rig;
  std::string text;
  for (int i = 0; i < 50; ++i) text += OtherLine;
  text += "Dec 01 00:39:33 sender dovecot: imap-login: Login: user=<a@b>\n";
  append(rig.log, text);
  rig.cycleUntilIdle();
  CHECK(rig.pump->stats().entries == 51);
  CHECK(rig.pump->stats().postfix_events == 0);
  std::uint64_t fed = 0;
  for (const auto n : rig.pump->correlator().counters().events) fed += n;
  CHECK(fed == 0);
}
