// libFuzzer target for the mail-log line parser (postfix/maillog_line.hpp) and the session
// correlator fed with what it parses (tlsrpt/maillog_sessions.hpp). The input is split into
// lines; each line is parsed as a log line and, with a synthetic header, as a journal message.
// Invariants, checked with abort(): every view points into the input, fields agree with the
// kind, the correlator's state stays within its bounds and every session is well formed.
#include "postfix/maillog_line.hpp"
#include "tlsrpt/maillog_sessions.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace mtasts;
using namespace mtasts::postfix;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return;
  require(part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void checkEndpoint(const Endpoint& e, std::string_view whole) {
  inside(e.host, whole);
  inside(e.address, whole);
  require(e.host.empty() == e.address.empty());
  require(e.host.find(' ') == std::string_view::npos);
  require(e.address.size() <= 64);
}

// `whole` holds every view except, for a journal message, the ident the caller passed.
void checkEvent(const MaillogEvent& ev, std::string_view whole, bool journal) {
  if (ev.kind == MaillogKind::NotPostfix) {
    require(ev.process == MaillogProcess::Other);
    require(ev.peer.empty() && ev.queue_id.empty());
    return;
  }
  require(ev.process != MaillogProcess::Other);
  for (const std::string_view v :
       {ev.header.timestamp, ev.header.hostname, ev.header.message, ev.reason, ev.queue_id, ev.recipient, ev.recipient_domain, ev.dsn, ev.status_word,
        ev.tls_field, ev.tls_level, ev.tlsrpt_domain, ev.tlsrpt_failure_type,
        ev.tlsrpt_failure_reason}) {
    inside(v, whole);
  }
  if (!journal) {
    inside(ev.header.ident, whole);
    inside(ev.instance, whole);
  }
  checkEndpoint(ev.peer, whole);
  checkEndpoint(ev.condition_peer, whole);
  const bool tls_line = ev.kind == MaillogKind::TlsEstablished || ev.kind == MaillogKind::TlsReused;
  require(tls_line == (ev.trust != TlsTrust::None));
  if (tls_line || ev.kind == MaillogKind::VerifyFailed || ev.kind == MaillogKind::HandshakeFailed ||
      ev.kind == MaillogKind::ConnectFailed || ev.kind == MaillogKind::ResumedUntrusted) {
    require(!ev.peer.empty() && ev.peer.port != 0);
  }
  require((ev.kind == MaillogKind::VerifyFailed) == (ev.verify != VerifyFailure::None));
  if (ev.kind == MaillogKind::DeliveryStatus) {
    require(!ev.queue_id.empty() && !ev.dsn.empty() && !ev.status_word.empty());
  }
  if (ev.kind == MaillogKind::Unrecognised || ev.kind == MaillogKind::Malformed) {
    require(ev.peer.empty() && ev.queue_id.empty() && ev.reason.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tlsrpt::MaillogSessionsConfig config;
  config.max_processes = 4;
  config.max_pending_per_process = 3;
  config.max_proxy_pending = 3;
  config.max_age = 50;
  config.sweep_interval = 5;
  tlsrpt::MaillogSessions sessions(config);
  std::vector<tlsrpt::MaillogSession> out;
  UnixSeconds now = 0;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    const MaillogEvent ev = parseMaillogLine(line);
    checkEvent(ev, line, false);
    sessions.feed(ev, now, out);
    const MaillogEvent msg = parseMaillogMessage("postfix/smtp", 42, line);
    checkEvent(msg, line, true);
    sessions.feed(msg, now, out);
    now += static_cast<UnixSeconds>(line.size() % 7);
    require(sessions.trackedProcesses() <= config.max_processes);
    require(sessions.pendingHandshakes() <=
            config.max_processes * (config.max_pending_per_process + 1) + config.max_proxy_pending);
  }
  for (const auto& s : out) {
    require(s.policy.domain == s.policy_domain);
    if (s.success) {
      require(s.failure.receiving_ip.empty() && s.failure.failure_reason_code.empty());
    } else {
      require(s.failure.receiving_mx_hostname == s.mx_host);
      require(s.failure.failure_reason_code.size() <= 128);
    }
  }
  require(sessions.counters().sessions == out.size());
  return 0;
}
