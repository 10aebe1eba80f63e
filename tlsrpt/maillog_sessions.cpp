#include "tlsrpt/maillog_sessions.hpp"

#include "common/domain.hpp"
#include "tlsrpt/maillog_nexthop.hpp"
#include "tlsrpt/maillog_verdict.hpp"

#include <charconv>

namespace mtasts::tlsrpt {
namespace {

using postfix::MaillogEvent;
using postfix::MaillogKind;
using postfix::MaillogProcess;
using postfix::TlsCondition;
using Kind = maillog_detail::Pending::Kind;

bool sameEndpoint(const maillog_detail::Pending& p, const postfix::Endpoint& e) noexcept {
  return p.ip == e.address && (p.port == e.port || p.port == 0 || e.port == 0);
}

maillog_detail::Pending fromPeer(Kind kind, const postfix::Endpoint& peer, UnixSeconds now) {
  maillog_detail::Pending p;
  p.kind = kind;
  p.at = now;
  p.host.assign(peer.host);
  p.ip.assign(peer.address);
  p.port = peer.port;
  return p;
}

// 3.11 status lines name the TLS level: must-match levels enforce (tls_level.c names).
Enforcement enforcementOfLevel(const MaillogEvent& ev) noexcept {
  if (ev.tls_level.empty() || ev.tls_relaxed) return Enforcement::Unknown;
  const std::string_view l = ev.tls_level;
  if (l == "secure" || l == "verify" || l == "dane" || l == "dane-only" || l == "fingerprint") {
    return Enforcement::Enforced;
  }
  if (l == "may" || l == "encrypt" || l == "none") return Enforcement::NotEnforced;
  return Enforcement::Unknown;
}

std::string ownerOf(const MaillogEvent& ev) {
  std::string owner(ev.header.hostname);
  owner.push_back('\0');
  owner.append(ev.instance);
  return owner;
}

}  // namespace

MaillogSessions::MaillogSessions(MaillogSessionsConfig config) : config_(std::move(config)) {
  key_.reserve(128);
}

std::size_t MaillogSessions::pendingHandshakes() const noexcept {
  std::size_t n = proxy_.size();
  for (const auto& [key, p] : processes_) n += p.pending.size() + (p.verify ? 1 : 0);
  return n;
}

void MaillogSessions::feed(const MaillogEvent& ev, UnixSeconds now,
                           std::vector<MaillogSession>& out) {
  counters_.events[static_cast<std::size_t>(ev.kind)] += 1;
  if (now - last_sweep_ >= config_.sweep_interval) expire(now);
  switch (ev.kind) {
    case MaillogKind::NotPostfix:
    case MaillogKind::Unrecognised:
    case MaillogKind::Malformed:
    case MaillogKind::ConnectFailed:  // no handshake: Postfix 3.10 reports nothing
      return;
    case MaillogKind::TlsRptStatus:
      counters_.tlsrpt_lines += 1;
      return;
    default:
      break;
  }
  Process& p = process(ev, now);
  const bool proxy = ev.process == MaillogProcess::TlsProxy;
  switch (ev.kind) {
    case MaillogKind::VerifyFailed:
    case MaillogKind::ResumedUntrusted: {
      if (p.verify) counters_.dropped_unmatched += 1;
      Pending note = fromPeer(Kind::Completed, ev.peer, now);
      note.verify = ev.verify;
      note.verify_num = ev.verify_num;
      note.verify_text.assign(ev.reason.substr(0, 256));
      note.resumed_untrusted = ev.kind == MaillogKind::ResumedUntrusted;
      p.verify = std::move(note);
      return;
    }
    case MaillogKind::TlsEstablished:
      onTlsEstablished(ev, p, now);
      return;
    case MaillogKind::TlsReused:
      if (!proxy) counters_.reused_connections += 1;
      return;
    case MaillogKind::HandshakeFailed:
      if (proxy) {
        if (proxy_.size() >= config_.max_proxy_pending) {
          proxy_.pop_front();
          counters_.dropped_overflow += 1;
        }
        proxy_.push_back({now, ownerOf(ev), fromPeer(Kind::HandshakeFailed, ev.peer, now)});
      } else {
        push(p, fromPeer(Kind::HandshakeFailed, ev.peer, now));
      }
      return;
    case MaillogKind::ServerSkipped:
      if (!proxy) onCondition(ev.condition, ev.condition_peer, {}, ev, p, now);
      return;
    case MaillogKind::DeliveryStatus:
      if (!proxy) onStatus(ev, p, now, out);
      return;
    default:
      return;
  }
}

MaillogSessions::Process& MaillogSessions::process(const MaillogEvent& ev, UnixSeconds now) {
  key_.assign(ev.header.hostname);
  key_.push_back('\0');
  key_.append(ev.instance);
  key_.push_back('\0');
  char digits[12];
  const auto end = std::to_chars(digits, digits + sizeof digits, ev.header.pid).ptr;
  key_.append(digits, end);
  auto it = processes_.find(key_);
  if (it == processes_.end()) {
    if (processes_.size() >= config_.max_processes) evictOldest();
    it = processes_.emplace(key_, Process{}).first;
  }
  it->second.last_seen = now;
  return it->second;
}

void MaillogSessions::evictOldest() {
  auto oldest = processes_.begin();
  for (auto it = processes_.begin(); it != processes_.end(); ++it) {
    if (it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest == processes_.end()) return;
  counters_.dropped_evicted += oldest->second.pending.size() + (oldest->second.verify ? 1 : 0);
  processes_.erase(oldest);
}

void MaillogSessions::expire(UnixSeconds now) {
  last_sweep_ = now;
  for (auto it = processes_.begin(); it != processes_.end();) {
    if (now - it->second.last_seen >= config_.max_age) {
      counters_.dropped_expired += it->second.pending.size() + (it->second.verify ? 1 : 0);
      it = processes_.erase(it);
    } else {
      ++it;
    }
  }
  while (!proxy_.empty() && now - proxy_.front().at >= config_.max_age) {
    counters_.dropped_expired += 1;
    proxy_.pop_front();
  }
}

void MaillogSessions::push(Process& p, Pending pending) {
  if (p.pending.size() >= config_.max_pending_per_process) {
    p.pending.erase(p.pending.begin());
    counters_.dropped_overflow += 1;
  }
  p.pending.push_back(std::move(pending));
}

// smtp(8) and, with smtp_tls_connection_reuse, tlsproxy(8) too log the summary of a new
// connection (tests/fixtures/maillog/postfix-3.7-tlsproxy.log: tlsproxy's line comes first,
// the verification lines only from tlsproxy). The smtp line counts; the tlsproxy line is
// claimed by it and lends its verification details.
void MaillogSessions::onTlsEstablished(const MaillogEvent& ev, Process& p, UnixSeconds now) {
  Pending hs = fromPeer(Kind::Completed, ev.peer, now);
  hs.trust = ev.trust;
  if (p.verify) {
    if (sameEndpoint(*p.verify, ev.peer)) {
      hs.verify = p.verify->verify;
      hs.verify_num = p.verify->verify_num;
      hs.verify_text = std::move(p.verify->verify_text);
      hs.resumed_untrusted = p.verify->resumed_untrusted;
    } else {
      counters_.dropped_unmatched += 1;
    }
    p.verify.reset();
  }
  if (ev.process == MaillogProcess::TlsProxy) {
    if (proxy_.size() >= config_.max_proxy_pending) {
      proxy_.pop_front();
      counters_.dropped_overflow += 1;
    }
    proxy_.push_back({now, ownerOf(ev), std::move(hs)});
    return;
  }
  if (auto claimed = claimProxy(ev, ev.peer, false)) {
    hs.via_proxy = true;
    if (hs.verify == postfix::VerifyFailure::None && !hs.resumed_untrusted) {
      hs.verify = claimed->handshake.verify;
      hs.verify_num = claimed->handshake.verify_num;
      hs.verify_text = std::move(claimed->handshake.verify_text);
      hs.resumed_untrusted = claimed->handshake.resumed_untrusted;
    }
  }
  push(p, std::move(hs));
}

std::optional<MaillogSessions::ProxyHandshake> MaillogSessions::claimProxy(
    const MaillogEvent& ev, const postfix::Endpoint& peer, bool failed) {
  if (proxy_.empty()) return std::nullopt;
  const std::string owner = ownerOf(ev);
  for (auto it = proxy_.begin(); it != proxy_.end(); ++it) {
    const bool kind_ok = (it->handshake.kind == Kind::HandshakeFailed) == failed;
    if (kind_ok && it->owner == owner && (peer.empty() || sameEndpoint(it->handshake, peer))) {
      ProxyHandshake claimed = std::move(*it);
      proxy_.erase(it);
      return claimed;
    }
  }
  return std::nullopt;
}

// A reason text of a skipped-server note or a status line (smtp_proto.c) that implies a
// handshake, or a required STARTTLS that was missing, on the connection that just ended.
void MaillogSessions::onCondition(TlsCondition condition, const postfix::Endpoint& named,
                                  const postfix::Endpoint& relay, const MaillogEvent& ev,
                                  Process& p, UnixSeconds now) {
  Pending* last = p.pending.empty() ? nullptr : &p.pending.back();
  switch (condition) {
    case TlsCondition::StarttlsNotOffered:
    case TlsCondition::StarttlsRefused: {
      Pending missing = fromPeer(Kind::StarttlsMissing, named, now);
      if (!relay.empty() && relay.address == named.address) missing.port = relay.port;
      push(p, std::move(missing));
      return;
    }
    case TlsCondition::HandshakeFailed:
      if (last && last->kind == Kind::HandshakeFailed && !last->confirmed) {
        last->confirmed = true;
      } else if (auto claimed = claimProxy(ev, relay, true)) {
        claimed->handshake.via_proxy = true;
        claimed->handshake.confirmed = true;
        push(p, std::move(claimed->handshake));
      } else {
        Pending synth = fromPeer(Kind::HandshakeFailed, relay, now);
        synth.confirmed = true;
        synth.from_status_only = true;
        push(p, std::move(synth));
      }
      return;
    case TlsCondition::CertNotVerified:
    case TlsCondition::CertNotTrusted:
      if (last && last->kind == Kind::Completed && !last->complained) {
        last->complained = true;
      } else {
        Pending synth = fromPeer(Kind::Unexplained, relay, now);
        synth.from_status_only = true;
        push(p, std::move(synth));
      }
      return;
    default:
      return;
  }
}

void MaillogSessions::onStatus(const MaillogEvent& ev, Process& p, UnixSeconds now,
                               std::vector<MaillogSession>& out) {
  const bool same_attempt = !p.last_queue_id.empty() && p.last_queue_id == ev.queue_id &&
                            p.last_relay_ip == ev.peer.address && p.last_relay_port == ev.peer.port;
  if (p.pending.empty() && same_attempt) {  // the next recipient of a counted delivery
    counters_.repeated_status_lines += 1;
    return;
  }
  onCondition(ev.condition, ev.condition_peer, ev.peer, ev, p, now);
  p.last_queue_id.assign(ev.queue_id);
  p.last_relay_ip.assign(ev.peer.address);
  p.last_relay_port = ev.peer.port;
  if (p.pending.empty()) {
    // A cached connection (conn_use > 1) was counted at its "TLS connection reused" line.
    if (ev.conn_use <= 1) counters_.status_without_tls += 1;
    return;
  }
  p.pending.back().tls_field = enforcementOfLevel(ev);
  for (const Pending& hs : p.pending) {
    if (hs.kind == Kind::Completed && hs.resumed_untrusted && hs.complained &&
        hs.verify == postfix::VerifyFailure::None && !config_.count_resumed_untrusted) {
      counters_.resumed_skipped += 1;
      continue;
    }
    out.push_back(build(hs, ev, now));
    const MaillogSession& s = out.back();
    counters_.sessions += 1;
    (s.success ? counters_.successes : counters_.failures) += 1;
  }
  p.pending.clear();
}

// One session from one handshake, as Postfix 3.10+ would report it: under a level that
// required verification, a handshake without "Verified" is a failure with the cause its
// verification line gave; under may/encrypt every completed handshake is a success (Postfix
// checks nothing there, tls_client.c logs no verification line at smtp_tls_loglevel 1).
MaillogSession MaillogSessions::build(const Pending& hs, const MaillogEvent& status,
                                      UnixSeconds now) const {
  MaillogSession s;
  s.at = now;
  s.recipient_domain = toLowerAscii(status.recipient_domain);
  std::optional<std::string> hook;
  if (config_.next_hop_for) hook = config_.next_hop_for(s.recipient_domain);
  NextHop hop;
  if (hook) {
    hop = nextHopOf(*hook);
    s.next_hop_source = NextHopSource::Hook;
  } else if (!config_.relayhost.empty()) {
    hop = relayNextHop(config_.relayhost, status.peer.host);
    s.next_hop_source = NextHopSource::Relayhost;
  } else {
    hop = nextHopOf(s.recipient_domain);
  }
  s.policy_domain = std::move(hop.domain);
  s.reportable = hop.reportable;
  if (config_.policy_for) {
    s.policy = config_.policy_for(s.policy_domain);
  } else {
    s.policy.type = PolicyType::NoPolicyFound;
    s.policy.domain = s.policy_domain;
  }
  s.mx_host = hs.host;
  s.mx_ip = hs.ip;
  s.port = hs.port;
  s.trust = hs.trust;
  s.queue_id.assign(status.queue_id);
  s.via_tlsproxy = hs.via_proxy;
  s.from_status_only = hs.from_status_only;

  MaillogVerdict verdict;
  switch (hs.kind) {
    case Kind::Completed: {
      const bool enforced = hs.trust == postfix::TlsTrust::Verified || hs.complained ||
                            hs.tls_field == Enforcement::Enforced;
      s.enforcement = enforced ? Enforcement::Enforced : Enforcement::NotEnforced;
      s.success = !enforced || (hs.trust == postfix::TlsTrust::Verified && !hs.complained);
      if (s.success) return s;
      verdict = hs.verify != postfix::VerifyFailure::None
                    ? verdictForVerifyFailure(hs.verify, hs.verify_num, hs.verify_text)
                    : verdictForUnexplainedFailure(hs.resumed_untrusted);
      break;
    }
    case Kind::HandshakeFailed:
      s.enforcement = hs.tls_field;
      verdict = verdictForHandshakeFailure();
      break;
    case Kind::StarttlsMissing:
      s.enforcement = Enforcement::Enforced;
      verdict = verdictForStarttlsMissing();
      break;
    case Kind::Unexplained:
      s.enforcement = Enforcement::Enforced;
      verdict = verdictForUnexplainedFailure(false);
      break;
  }
  s.success = false;
  s.failure.result = verdict.result;
  s.failure.receiving_mx_hostname = hs.host;
  s.failure.receiving_ip = hs.ip;
  s.failure.failure_reason_code = std::move(verdict.reason_code);
  return s;
}

}  // namespace mtasts::tlsrpt
