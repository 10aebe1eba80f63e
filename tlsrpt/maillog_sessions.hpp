// MaillogSessions turns parsed smtp(8)/tlsproxy(8) log events into TLS-RPT sessions the way
// Postfix 3.10+ counts them: one TLS handshake (or one connection without the STARTTLS that
// the level required) = one session, reused connections not counted, several recipients of
// one delivery counted once. TLS lines carry no queue id, so they wait per (host, instance,
// pid) for the next status line of that process, which names the next hop. A pure state
// machine: no I/O, no clock (the caller passes `now`), bounded state, dropped state counted.
#pragma once

#include "common/clock.hpp"
#include "postfix/maillog_line.hpp"
#include "tlsrpt/report_types.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mtasts::tlsrpt {

// Whether the log shows the session under a level that required a verified certificate or
// TLS (secure, verify, dane, encrypt; what an MTA-STS enforce policy makes Postfix use).
enum class Enforcement : std::uint8_t {
  Unknown,      // the log does not say (a failed handshake defers under `may` too)
  NotEnforced,  // the session went on with an unverified peer: level may or encrypt
  Enforced,     // "Verified", "Server certificate not verified", "TLS is required", tls=secure
};

enum class NextHopSource : std::uint8_t { RecipientDomain, Relayhost, Hook };

struct MaillogSession {
  UnixSeconds at = 0;                 // the caller's `now` when the status line arrived
  std::string policy_domain;          // the next hop Postfix 3.10+ reports for, lower case
  bool reportable = true;             // false for an IP-literal next hop (Postfix skips those)
  NextHopSource next_hop_source = NextHopSource::RecipientDomain;
  std::string recipient_domain;       // lower case, as logged (U-labels stay UTF-8)
  PolicyDescriptor policy;            // from MaillogSessionsConfig::policy_for
  std::string mx_host;                // receiving MX as logged
  std::string mx_ip;
  std::uint16_t port = 0;
  postfix::TlsTrust trust = postfix::TlsTrust::None;  // None: no handshake completed
  Enforcement enforcement = Enforcement::Unknown;
  bool success = false;
  FailureDetail failure;              // when !success: result, MX name and IP, reason code
  std::string queue_id;               // of the status line that closed the session
  bool via_tlsproxy = false;          // details came from tlsproxy(8) lines
  bool from_status_only = false;      // no TLS line: cause unknown (smtp_tls_loglevel 0?)
};

struct MaillogSessionsConfig {
  std::size_t max_processes = 4096;        // smtp/tlsproxy processes with state
  std::size_t max_pending_per_process = 32;  // handshakes waiting for their status line
  std::size_t max_proxy_pending = 4096;    // tlsproxy handshakes waiting for their smtp line
  UnixSeconds max_age = 3600;              // state untouched this long is dropped
  UnixSeconds sweep_interval = 60;         // feed() expires old state this often
  // main.cf relayhost as written ("[smtp.example.net]:587"); empty when none. The log shows
  // the relay host only, never this setting.
  std::string relayhost;
  // The next hop for a recipient domain when a transport or sender-dependent relayhost
  // changes it ("[host]:port" or a domain); nullopt keeps relayhost / the recipient domain.
  std::function<std::optional<std::string>(std::string_view recipient_domain)> next_hop_for;
  // The hook for the policy in force: what mtastsd answered for the policy domain. Unset:
  // every session is policy type no-policy-found with that domain.
  std::function<PolicyDescriptor(std::string_view policy_domain)> policy_for;
  // A resumed TLS session with an untrusted certificate (enforced) is reported by Postfix
  // 3.10+ as certificate-not-trusted only with smtp_tlsrpt_skip_reused_handshakes = no.
  bool count_resumed_untrusted = true;
};

struct MaillogCounters {
  std::array<std::uint64_t, 12> events{};  // by postfix::MaillogKind
  std::uint64_t sessions = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t reused_connections = 0;    // "TLS connection reused": not sessions
  std::uint64_t repeated_status_lines = 0; // more recipients of an attempt already counted
  std::uint64_t status_without_tls = 0;    // status lines with no handshake (plaintext, level 0)
  std::uint64_t tlsrpt_lines = 0;          // "TLSRPT:" lines: the Postfix reports itself
  std::uint64_t resumed_skipped = 0;       // count_resumed_untrusted = false
  std::uint64_t dropped_expired = 0;       // handshakes whose status line never came
  std::uint64_t dropped_evicted = 0;       // handshakes of processes evicted at max_processes
  std::uint64_t dropped_overflow = 0;      // beyond max_pending_per_process / max_proxy_pending
  std::uint64_t dropped_unmatched = 0;     // verification lines with no summary line after them
};

namespace maillog_detail {

// A handshake (or a connection that lacked STARTTLS) waiting for its process's status line.
struct Pending {
  enum class Kind : std::uint8_t { Completed, HandshakeFailed, StarttlsMissing, Unexplained };
  Kind kind = Kind::Completed;
  UnixSeconds at = 0;
  std::string host, ip;
  std::uint16_t port = 0;
  postfix::TlsTrust trust = postfix::TlsTrust::None;
  postfix::VerifyFailure verify = postfix::VerifyFailure::None;
  int verify_num = 0;
  std::string verify_text;
  bool resumed_untrusted = false;  // "re-using session with untrusted ..." preceded it
  bool complained = false;         // "Server certificate not verified|trusted" followed it
  bool confirmed = false;          // HandshakeFailed: the "Cannot start TLS" text was seen
  Enforcement tls_field = Enforcement::Unknown;  // 3.11 tls= of its status line
  bool via_proxy = false;
  bool from_status_only = false;
};

// What tlsproxy(8) logged for one handshake, until the smtp(8) process that asked for it
// logs its own summary line or its "Cannot start TLS" status (tlsproxy serves many).
struct ProxyHandshake {
  UnixSeconds at = 0;
  std::string owner;  // syslog host + instance: whose smtp processes may claim it
  Pending handshake;  // Completed or HandshakeFailed
};

struct Process {
  UnixSeconds last_seen = 0;
  std::vector<Pending> pending;
  std::optional<Pending> verify;  // a verification/resumption line waiting for its summary
  std::string last_queue_id;      // the delivery attempt whose status lines were counted
  std::string last_relay_ip;
  std::uint16_t last_relay_port = 0;
};

}  // namespace maillog_detail

class MaillogSessions {
 public:
  explicit MaillogSessions(MaillogSessionsConfig config = {});

  // Feeds one event; completed sessions are appended to `out` (which is not cleared).
  void feed(const postfix::MaillogEvent& event, UnixSeconds now, std::vector<MaillogSession>& out);

  // Drops state untouched for max_age (feed() also does so every sweep_interval).
  void expire(UnixSeconds now);

  const MaillogCounters& counters() const noexcept { return counters_; }
  std::size_t trackedProcesses() const noexcept { return processes_.size(); }
  std::size_t pendingHandshakes() const noexcept;
  // True once a "TLSRPT:" line was seen: this Postfix (3.10+) reports by itself.
  bool sawTlsRptLines() const noexcept { return counters_.tlsrpt_lines > 0; }

  using Pending = maillog_detail::Pending;
  using Process = maillog_detail::Process;
  using ProxyHandshake = maillog_detail::ProxyHandshake;

 private:
  Process& process(const postfix::MaillogEvent& event, UnixSeconds now);
  void onTlsEstablished(const postfix::MaillogEvent& event, Process& p, UnixSeconds now);
  void onCondition(postfix::TlsCondition condition, const postfix::Endpoint& named,
                   const postfix::Endpoint& relay, const postfix::MaillogEvent& event, Process& p,
                   UnixSeconds now);
  void onStatus(const postfix::MaillogEvent& event, Process& p, UnixSeconds now,
                std::vector<MaillogSession>& out);
  void push(Process& p, Pending pending);
  std::optional<ProxyHandshake> claimProxy(const postfix::MaillogEvent& event,
                                           const postfix::Endpoint& peer, bool failed);
  MaillogSession build(const Pending& pending, const postfix::MaillogEvent& status,
                       UnixSeconds now) const;
  void evictOldest();

  MaillogSessionsConfig config_;
  MaillogCounters counters_;
  std::unordered_map<std::string, Process> processes_;
  std::deque<ProxyHandshake> proxy_;
  std::string key_;  // reused lookup key: no allocation per event once warm
  UnixSeconds last_sweep_ = 0;
};

}  // namespace mtasts::tlsrpt
