// Settings: the typed configuration, one section per component (server, policy) and per
// shared resource of the Runtime (dns, https, store, process). A component reads only its
// own section; its options struct is built from it in one function next to the component
// (serverLimits() in server_component.hpp, policyServiceOptions() in policy_component.hpp).
// Plain values, no I/O; filled from the key table in config_table.cpp by config.hpp's parser.
// A new component adds: a section struct here and its member in Settings, its keys in one
// block at the end of config_table.cpp, and its line in the component list.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace mtasts::daemon {

using Ms = std::chrono::milliseconds;

enum class OnResolveTimeout { NotFound, Temp };  // table choices "NOTFOUND|TEMP", in this order

// The socketmap server (server/).
struct ServerSettings {
  std::vector<std::string> listen;
  unsigned unix_socket_mode = 0;
  std::string unix_socket_owner;
  std::string unix_socket_group;
  std::size_t max_query_size = 0;
  std::size_t max_reply_size = 0;
  std::size_t max_connections = 0;
  std::size_t max_pipelined = 0;
  Ms idle_timeout{};
  Ms write_timeout{};
  Ms shutdown_timeout{};
  std::vector<std::string> tlsrpt_map_names;
  bool operator==(const ServerSettings&) const = default;
};

// The MTA-STS engine (policy/): cache rules, waits and the fetch rules.
struct PolicySettings {
  bool strict_testing = false;
  Ms query_wait_timeout{};
  OnResolveTimeout on_resolve_timeout = OnResolveTimeout::NotFound;
  Ms fetch_timeout{};
  std::size_t max_policy_size = 0;
  Ms txt_check_interval{};
  Ms refresh_interval{};
  Ms max_idle{};
  Ms negative_ttl{};
  Ms failure_ttl{};
  Ms fetch_retry_interval{};
  Ms usage_flush_interval{};
  Ms sweep_interval{};
  bool operator==(const PolicySettings&) const = default;
};

// The Runtime's DnsClient.
struct DnsSettings {
  std::vector<std::string> dns_servers;
  Ms dns_timeout{};
  bool operator==(const DnsSettings&) const = default;
};

// The Runtime's HttpsClient.
struct HttpsSettings {
  std::string ca_file;
  bool operator==(const HttpsSettings&) const = default;
};

// The Runtime's one LMDB environment.
struct StoreSettings {
  std::string state_dir;
  std::size_t lmdb_map_size = 0;
  bool operator==(const StoreSettings&) const = default;
};

// The process: logging and privileges.
struct ProcessSettings {
  std::string log_level;
  std::string log_target;   // auto | stderr | syslog (common/log.hpp setLogTarget)
  std::string user;         // drop to this user after binding; empty = stay
  bool allow_root = false;  // run as root without `user`
  bool operator==(const ProcessSettings&) const = default;
};

// TLS-RPT collection (tlsrpt/collection.hpp): the datagram socket, the mail log, the day
// store's bounds and commits.
struct TlsRptSettings {
  std::string socket;  // tlsrpt_socket; empty = off
  unsigned socket_mode = 0;
  std::string socket_owner;
  std::string socket_group;
  Ms commit_interval{};
  std::size_t keep_days = 0;
  std::size_t max_detail_rows = 0;
  std::size_t max_domains_per_day = 0;
  std::size_t max_policies_per_domain = 0;
  std::size_t datagram_batch = 0;
  Ms read_delay{};
  std::string maillog;    // tlsrpt_maillog: empty, "journal" or an absolute path
  std::string relayhost;  // tlsrpt_relayhost: Postfix's main.cf relayhost, as written there
  std::size_t maillog_max_line = 0;
  Ms maillog_rotate_wait{};
  Ms maillog_batch_interval{};
  Ms maillog_quiescent_wait{};
  Ms maillog_poll_interval{};
  // Reports (issue 14): on when organization_name, contact_info and report_from are set.
  std::string organization_name;         // tlsrpt_organization_name
  std::string contact_info;              // tlsrpt_contact_info: an address, its domain the submitter
  std::string report_from;               // tlsrpt_report_from: From of the report mails
  Ms report_delay{};                     // tlsrpt_report_delay: random delay after 00:00 UTC
  Ms report_retry{};                     // tlsrpt_report_retry: retry window from the first attempt
  Ms report_retry_interval{};            // tlsrpt_report_retry_interval: first backoff step
  std::string sendmail;                  // tlsrpt_sendmail: command template (FROM, TO words)
  Ms sendmail_timeout{};                 // tlsrpt_sendmail_timeout
  std::vector<std::string> dkim_key;     // tlsrpt_dkim_key: PEM files (RSA and/or Ed25519)
  std::vector<std::string> dkim_selector;  // tlsrpt_dkim_selector: one per key, same order
  std::string dkim_domain;               // tlsrpt_dkim_domain: d=, empty = the submitter
  bool operator==(const TlsRptSettings&) const = default;
};

// `mtastsd --check-domain`: how it probes the MX hosts of the domain it checks.
struct CheckSettings {
  std::string ehlo_name;        // empty = this host's name
  std::size_t smtp_port = 0;    // 25; another port only for tests
  Ms smtp_timeout{};            // one whole SMTP STARTTLS probe
  bool operator==(const CheckSettings&) const = default;
};

// The metrics listener (daemon/metrics_component.hpp).
struct MetricsSettings {
  std::string metrics_listen;  // inet:HOST:PORT; empty = no endpoint, no counting
  bool operator==(const MetricsSettings&) const = default;
};

enum class DaneMode { Auto, Off };  // table choices "auto|off", in this order

// DANE before MTA-STS (RFC 8461 2): the policy component's verdicts and the Runtime's DNS
// client (how it learns DNSSEC: its own validation, or a loopback resolver's AD bit).
struct DaneSettings {
  DaneMode dane = DaneMode::Auto;
  bool dane_without_sts = false;
  bool dnssec_trust_ad = true;
  std::string dnssec_trust_anchor_file;
  bool operator==(const DaneSettings&) const = default;
};

struct Settings {
  using Ms = daemon::Ms;
  ServerSettings server;
  PolicySettings policy;
  DnsSettings dns;
  HttpsSettings https;
  StoreSettings store;
  ProcessSettings process;
  TlsRptSettings tlsrpt;
  CheckSettings check;
  MetricsSettings metrics;
  DaneSettings dane;
  bool operator==(const Settings&) const = default;
};

}  // namespace mtasts::daemon
