// The one declaration of every configuration key (see config.hpp). The order is the
// documentation order: --check-config, mtastsd.conf(5) and dist/mtastsd.conf.example list
// the keys in it, so the older keys stay where they were; each entry names the section
// (the component) that reads it. A new component's keys go in one block at the end.
// Bounds are in the stored unit (bytes, count, ms).
#include "daemon/config.hpp"

#include "common/domain.hpp"
#include "net/listener.hpp"
#include "sts/policy_parser.hpp"
#include "tlsrpt/addr_spec.hpp"
#include "tlsrpt/report_mailer.hpp"
#include "tlsrpt/report_service.hpp"

namespace mtasts::daemon {
namespace {

using S = Settings;
using Server = ServerSettings;
using Policy = PolicySettings;
using Process = ProcessSettings;
using TlsRpt = TlsRptSettings;
constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t Sec = 1000;
constexpr std::uint64_t Min = 60 * Sec;
constexpr std::uint64_t Hour = 60 * Min;
constexpr std::uint64_t Day = 24 * Hour;
constexpr std::uint64_t Year = 365 * Day;

std::string validListenAddress(std::string_view item) {
  auto parsed = net::parseListenAddress(item);
  return parsed ? std::string() : parsed.error().detail;
}

// [11] A scraper connects over TCP: inet only, and a port to find it at.
std::string validMetricsAddress(std::string_view value) {
  if (value.empty()) return {};
  auto parsed = net::parseListenAddress(value);
  if (!parsed) return parsed.error().detail;
  if (parsed->kind != net::ListenAddress::Kind::Inet) return "metrics_listen takes inet:HOST:PORT";
  if (parsed->port == 0) return "metrics_listen needs a port";
  return {};
}

// A unix socket path: absolute, and within sockaddr_un's sun_path (108 bytes with its NUL).
std::string validSocketPath(std::string_view path) {
  if (path.empty()) return {};
  if (path.front() != '/') return "must be an absolute path";
  if (path.size() > 107) return "is longer than a unix socket path may be (107 bytes)";
  return {};
}

std::string validMaillog(std::string_view value) {
  if (value.empty() || value == "journal") return {};  // tlsrpt::MaillogJournal
  if (value.front() != '/') return "must be journal or the absolute path of a log file";
  return {};
}

// Postfix's relayhost: destinations separated by commas or blanks, no control characters.
std::string validRelayhost(std::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return "contains a control character";
  }
  return value.size() > 1024 ? "is longer than 1024 bytes" : "";
}

std::string validEhloName(std::string_view name) {
  return name.empty() || isValidHostname(name) ? std::string() : "not a host name";
}

const KeySpec Keys[] = {
    {.name = "listen", .type = KeyType::List, .default_value = "inet:127.0.0.1:8461", .reloadable = false,
     .help = "socketmap listeners: inet:HOST:PORT, inet:[::1]:PORT, unix:/path",
     .field = settingsField<&S::server, &Server::listen>(), .min = 1, .max = 64, .validate = validListenAddress},
    {.name = "unix_socket_mode", .type = KeyType::Octal, .default_value = "0666", .reloadable = false,
     .help = "mode of unix listeners (Postfix's smtp runs as user postfix)",
     .field = settingsField<&S::server, &Server::unix_socket_mode>(), .min = 0, .max = 07777},
    {.name = "unix_socket_owner", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "owner of unix listeners (empty = unchanged)",
     .field = settingsField<&S::server, &Server::unix_socket_owner>()},
    {.name = "unix_socket_group", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "group of unix listeners (empty = unchanged)",
     .field = settingsField<&S::server, &Server::unix_socket_group>()},
    {.name = "state_dir", .type = KeyType::Path, .default_value = "/var/lib/mtastsd", .reloadable = false,
     .help = "LMDB store directory (created with mode 0750 if missing)",
     .field = settingsField<&S::store, &StoreSettings::state_dir>(), .min = 1},
    {.name = "log_level", .type = KeyType::Enum, .default_value = "info", .reloadable = true,
     .help = "log threshold", .field = settingsField<&S::process, &Process::log_level>(),
     .choices = "trace|debug|info|warn|error|critical|off"},
    {.name = "max_query_size", .type = KeyType::Size, .default_value = "10000", .reloadable = true,
     .help = "largest socketmap request payload accepted",
     .field = settingsField<&S::server, &Server::max_query_size>(), .min = 16, .max = 1 * MiB},
    {.name = "max_reply_size", .type = KeyType::Size, .default_value = "100000", .reloadable = true,
     .help = "largest reply payload sent (Postfix's limit is 100000)",
     .field = settingsField<&S::server, &Server::max_reply_size>(), .min = 1024, .max = 100000},
    {.name = "max_connections", .type = KeyType::Int, .default_value = "1000", .reloadable = true,
     .help = "concurrent socketmap connections; beyond it new ones are closed",
     .field = settingsField<&S::server, &Server::max_connections>(), .min = 1, .max = 1000000},
    {.name = "max_pipelined", .type = KeyType::Int, .default_value = "1000", .reloadable = true,
     .help = "requests waiting for replies per connection before reading pauses",
     .field = settingsField<&S::server, &Server::max_pipelined>(), .min = 1, .max = 100000},
    {.name = "idle_timeout", .type = KeyType::Duration, .default_value = "60s", .reloadable = true,
     .help = "close a connection with no request in flight after this",
     .field = settingsField<&S::server, &Server::idle_timeout>(), .min = Sec, .max = Day},
    {.name = "write_timeout", .type = KeyType::Duration, .default_value = "30s", .reloadable = true,
     .help = "close a connection whose replies cannot be written for this long",
     .field = settingsField<&S::server, &Server::write_timeout>(), .min = Sec, .max = Day},
    {.name = "shutdown_timeout", .type = KeyType::Duration, .default_value = "10s", .reloadable = false,
     .help = "on SIGTERM, how long in-flight requests may still finish",
     .field = settingsField<&S::server, &Server::shutdown_timeout>(), .min = 0, .max = 10 * Min},
    {.name = "tlsrpt_map_names", .type = KeyType::List, .default_value = "postfix-tlsrpt", .reloadable = true,
     .help = "map names whose verdicts carry Postfix >= 3.10 TLSRPT attributes",
     .field = settingsField<&S::server, &Server::tlsrpt_map_names>(), .min = 0, .max = 64},
    {.name = "strict_testing", .type = KeyType::Bool, .default_value = "no", .reloadable = true,
     .help = "treat mode testing like enforce", .field = settingsField<&S::policy, &Policy::strict_testing>()},
    {.name = "query_wait_timeout", .type = KeyType::Duration, .default_value = "5s", .reloadable = true,
     .help = "how long a query waits for a resolve before on_resolve_timeout applies",
     .field = settingsField<&S::policy, &Policy::query_wait_timeout>(), .min = 1, .max = 90 * Sec,
     .allow_ms = true},
    {.name = "on_resolve_timeout", .type = KeyType::Enum, .default_value = "NOTFOUND", .reloadable = true,
     .help = "answer when a resolve takes longer than query_wait_timeout",
     .field = settingsField<&S::policy, &Policy::on_resolve_timeout>(), .choices = "NOTFOUND|TEMP"},
    {.name = "dns_servers", .type = KeyType::List, .default_value = "", .reloadable = false,
     .help = "upstream resolvers host[:port] or [v6]:port; empty = /etc/resolv.conf",
     .field = settingsField<&S::dns, &DnsSettings::dns_servers>(), .min = 0, .max = 16},
    {.name = "dns_timeout", .type = KeyType::Duration, .default_value = "5s", .reloadable = false,
     .help = "per DNS query bound", .field = settingsField<&S::dns, &DnsSettings::dns_timeout>(), .min = 1,
     .max = Min, .allow_ms = true},
    {.name = "fetch_timeout", .type = KeyType::Duration, .default_value = "10s", .reloadable = true,
     .help = "bound on one whole policy fetch", .field = settingsField<&S::policy, &Policy::fetch_timeout>(),
     .min = 1, .max = 5 * Min, .allow_ms = true},
    // The policy parser's own limit is the ceiling: a larger body would be downloaded only
    // to be refused. Below 1 KiB ordinary policies with a few mx lines would not fit.
    {.name = "max_policy_size", .type = KeyType::Size, .default_value = "65536", .reloadable = true,
     .help = "largest policy body fetched, 1024 to 65536 (RFC 8461 3.3 suggests 64 KiB, the policy "
             "parser's limit); a larger body is an sts-policy-fetch-error",
     .field = settingsField<&S::policy, &Policy::max_policy_size>(), .min = 1 * KiB, .max = sts::MaxPolicyBodyBytes},
    {.name = "ca_file", .type = KeyType::Path, .default_value = "", .reloadable = false,
     .help = "PEM CA bundle for policy hosts; empty = system store",
     .field = settingsField<&S::https, &HttpsSettings::ca_file>()},
    {.name = "txt_check_interval", .type = KeyType::Duration, .default_value = "1h", .reloadable = true,
     .help = "re-check the _mta-sts TXT id of a cached policy at most this often",
     .field = settingsField<&S::policy, &Policy::txt_check_interval>(), .min = Sec, .max = Year},
    {.name = "refresh_interval", .type = KeyType::Duration, .default_value = "1d", .reloadable = true,
     .help = "refetch a used policy once its fetch is older than this (jittered)",
     .field = settingsField<&S::policy, &Policy::refresh_interval>(), .min = Hour, .max = Year},
    {.name = "max_idle", .type = KeyType::Duration, .default_value = "30d", .reloadable = true,
     .help = "policies unused this long are not refreshed and are swept once expired",
     .field = settingsField<&S::policy, &Policy::max_idle>(), .min = Hour, .max = 10 * Year},
    {.name = "negative_ttl", .type = KeyType::Duration, .default_value = "1h", .reloadable = true,
     .help = "cache \"no record\" and mode none this long",
     .field = settingsField<&S::policy, &Policy::negative_ttl>(), .min = Sec, .max = Year},
    {.name = "failure_ttl", .type = KeyType::Duration, .default_value = "5m", .reloadable = true,
     .help = "cache a DNS failure (never over a valid policy) this long",
     .field = settingsField<&S::policy, &Policy::failure_ttl>(), .min = Sec, .max = Year},
    {.name = "fetch_retry_interval", .type = KeyType::Duration, .default_value = "5m", .reloadable = true,
     .help = "least time before fetching the same TXT id again after a failure (at least 5m)",
     .field = settingsField<&S::policy, &Policy::fetch_retry_interval>(), .min = 5 * Min, .max = Year},
    {.name = "usage_flush_interval", .type = KeyType::Duration, .default_value = "60s", .reloadable = true,
     .help = "how often batched last-used stamps are written (a stamp moves once an hour at most)",
     .field = settingsField<&S::policy, &Policy::usage_flush_interval>(), .min = Sec, .max = Day},
    {.name = "sweep_interval", .type = KeyType::Duration, .default_value = "1h", .reloadable = true,
     .help = "how often expired idle entries are deleted",
     .field = settingsField<&S::policy, &Policy::sweep_interval>(), .min = Min, .max = Year},
    {.name = "lmdb_map_size", .type = KeyType::Size, .default_value = "64M", .reloadable = false,
     .help = "initial LMDB map size (grows on demand)",
     .field = settingsField<&S::store, &StoreSettings::lmdb_map_size>(), .min = 64 * KiB, .max = MiB * MiB},
    {.name = "user", .type = KeyType::String, .default_value = "mtastsd", .reloadable = false,
     .help = "when started as root, switch to this user (and its groups) after binding the listeners; "
             "state_dir is given to it; empty = do not switch (root then needs allow_root = yes)",
     .field = settingsField<&S::process, &Process::user>()},
    {.name = "allow_root", .type = KeyType::Bool, .default_value = "no", .reloadable = false,
     .help = "allow running as root without user (not recommended)",
     .field = settingsField<&S::process, &Process::allow_root>()},
    // TLS-RPT collection (tlsrpt/collection.hpp). None reloads: the socket, the mail-log
    // source and the day bounds are fixed when collection starts.
    {.name = "tlsrpt_socket", .type = KeyType::Path, .default_value = "", .reloadable = false,
     .help = "unix datagram socket for Postfix >= 3.10 TLSRPT reports (smtp_tlsrpt_socket_name); empty = off",
     .field = settingsField<&S::tlsrpt, &TlsRpt::socket>(), .validate = validSocketPath},
    {.name = "tlsrpt_socket_mode", .type = KeyType::Octal, .default_value = "0660", .reloadable = false,
     .help = "mode of tlsrpt_socket (Postfix's smtp must be able to write to it)",
     .field = settingsField<&S::tlsrpt, &TlsRpt::socket_mode>(), .min = 0, .max = 07777},
    {.name = "tlsrpt_socket_owner", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "owner of tlsrpt_socket (empty = unchanged)",
     .field = settingsField<&S::tlsrpt, &TlsRpt::socket_owner>()},
    {.name = "tlsrpt_socket_group", .type = KeyType::String, .default_value = "postfix", .reloadable = false,
     .help = "group of tlsrpt_socket (empty = unchanged); if it does not exist the socket is not made and "
             "mtastsd runs without it",
     .field = settingsField<&S::tlsrpt, &TlsRpt::socket_group>()},
    {.name = "tlsrpt_commit_interval", .type = KeyType::Duration, .default_value = "1s", .reloadable = false,
     .help = "TLS-RPT counts are written to the store this often and at stop; a crash loses at most this much",
     .field = settingsField<&S::tlsrpt, &TlsRpt::commit_interval>(), .min = 100, .max = Min, .allow_ms = true},
    {.name = "tlsrpt_keep_days", .type = KeyType::Int, .default_value = "7", .reloadable = false,
     .help = "UTC days of TLS-RPT counts kept besides today",
     .field = settingsField<&S::tlsrpt, &TlsRpt::keep_days>(), .min = 2, .max = 366},
    {.name = "tlsrpt_max_detail_rows", .type = KeyType::Int, .default_value = "100", .reloadable = false,
     .help = "distinct failure rows per policy and day; further failures go to one overflow row per result type",
     .field = settingsField<&S::tlsrpt, &TlsRpt::max_detail_rows>(), .min = 1, .max = 1000},
    {.name = "tlsrpt_max_domains_per_day", .type = KeyType::Int, .default_value = "20000", .reloadable = false,
     .help = "report domains counted per UTC day; sessions of further domains are dropped and counted",
     .field = settingsField<&S::tlsrpt, &TlsRpt::max_domains_per_day>(), .min = 1, .max = 1000000},
    {.name = "tlsrpt_max_policies_per_domain", .type = KeyType::Int, .default_value = "32", .reloadable = false,
     .help = "distinct policies (and TLSRPT records) per report domain and day",
     .field = settingsField<&S::tlsrpt, &TlsRpt::max_policies_per_domain>(), .min = 1, .max = 1024},
    {.name = "tlsrpt_datagram_batch", .type = KeyType::Int, .default_value = "32", .reloadable = false,
     .help = "datagrams received per recvmmsg call",
     .field = settingsField<&S::tlsrpt, &TlsRpt::datagram_batch>(), .min = 1, .max = 1024},
    {.name = "tlsrpt_read_delay", .type = KeyType::Duration, .default_value = "2ms", .reloadable = false,
     .help = "while datagrams keep coming, read them once per this delay (0 = at once); used only when "
             "net.unix.max_dgram_qlen is at least 1024",
     .field = settingsField<&S::tlsrpt, &TlsRpt::read_delay>(), .min = 0, .max = 10, .allow_ms = true},
    {.name = "tlsrpt_maillog", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "TLS-RPT from the mail log of Postfix <= 3.9 (smtp_tls_loglevel = 1): the absolute path of "
             "the log file, or journal; empty = off",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog>(), .validate = validMaillog},
    {.name = "tlsrpt_relayhost", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "Postfix's main.cf relayhost, as written there (the log does not show it): mail-log sessions "
             "are reported for the next hop it names",
     .field = settingsField<&S::tlsrpt, &TlsRpt::relayhost>(), .validate = validRelayhost},
    {.name = "tlsrpt_maillog_max_line", .type = KeyType::Size, .default_value = "16384", .reloadable = false,
     .help = "longest mail-log line or journal message read; longer ones are skipped and counted",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog_max_line>(), .min = 1 * KiB, .max = 1 * MiB},
    {.name = "tlsrpt_maillog_rotate_wait", .type = KeyType::Duration, .default_value = "10s", .reloadable = false,
     .help = "after a rename rotation, read the old file until the new one has data, at most this long",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog_rotate_wait>(), .min = Sec, .max = Hour},
    {.name = "tlsrpt_maillog_batch_interval", .type = KeyType::Duration, .default_value = "1s",
     .reloadable = false, .help = "mail-log sessions are handed to the store in batches this far apart",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog_batch_interval>(), .min = Sec, .max = Min},
    {.name = "tlsrpt_maillog_quiescent_wait", .type = KeyType::Duration, .default_value = "10s",
     .reloadable = false,
     .help = "a due batch waits at most this long for a moment when no handshake waits for its status line",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog_quiescent_wait>(), .min = 0, .max = 10 * Min},
    {.name = "tlsrpt_maillog_poll_interval", .type = KeyType::Duration, .default_value = "1s",
     .reloadable = false, .help = "check the mail log this often besides its inotify or journal wakeups",
     .field = settingsField<&S::tlsrpt, &TlsRpt::maillog_poll_interval>(), .min = 100, .max = Min,
     .allow_ms = true},
    // --check-domain (not the daemon): the SMTP probes of the checked domain's MX hosts.
    {.name = "check_ehlo_name", .type = KeyType::String, .default_value = "", .reloadable = true,
     .help = "name sent with EHLO by --check-domain; empty = this host's name",
     .field = settingsField<&S::check, &CheckSettings::ehlo_name>(), .validate = validEhloName},
    {.name = "check_smtp_port", .type = KeyType::Int, .default_value = "25", .reloadable = true,
     .help = "port --check-domain probes STARTTLS on (25; another port only for tests)",
     .field = settingsField<&S::check, &CheckSettings::smtp_port>(), .min = 1, .max = 65535},
    {.name = "check_smtp_timeout", .type = KeyType::Duration, .default_value = "30s", .reloadable = true,
     .help = "bound on one SMTP STARTTLS probe of --check-domain (connect to QUIT)",
     .field = settingsField<&S::check, &CheckSettings::smtp_timeout>(), .min = 1, .max = 5 * Min,
     .allow_ms = true},
    // TLS-RPT reports (issue 14, tlsrpt/report_service.hpp): on when the first three are set.
    {.name = "tlsrpt_organization_name", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "organization-name of the reports; reports are sent when this, tlsrpt_contact_info and "
             "tlsrpt_report_from are set",
     .field = settingsField<&S::tlsrpt, &TlsRpt::organization_name>(), .max = 256,
     .validate = [](std::string_view v) { return tlsrpt::reportTextProblem(v); }},
    {.name = "tlsrpt_contact_info", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "contact-info of the reports: an address; its domain is the submitter (RFC 8460 5.1)",
     .field = settingsField<&S::tlsrpt, &TlsRpt::contact_info>(),
     .validate = [](std::string_view v) { return v.empty() ? std::string() : tlsrpt::addrSpecProblem(v); }},
    {.name = "tlsrpt_report_from", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "From and envelope sender of the report mails, in the submitter's domain",
     .field = settingsField<&S::tlsrpt, &TlsRpt::report_from>(),
     .validate = [](std::string_view v) { return v.empty() ? std::string() : tlsrpt::addrSpecProblem(v); }},
    {.name = "tlsrpt_report_delay", .type = KeyType::Duration, .default_value = "4h", .reloadable = false,
     .help = "a day's reports are sent after 00:00 UTC of the next day plus a random delay up to this",
     .field = settingsField<&S::tlsrpt, &TlsRpt::report_delay>(), .min = 0, .max = 20 * Hour},
    {.name = "tlsrpt_report_retry", .type = KeyType::Duration, .default_value = "24h", .reloadable = false,
     .help = "a failed report destination is retried for this long from its first attempt, then given up",
     .field = settingsField<&S::tlsrpt, &TlsRpt::report_retry>(), .min = Min, .max = 2 * Day},
    {.name = "tlsrpt_report_retry_interval", .type = KeyType::Duration, .default_value = "5m",
     .reloadable = false, .help = "first retry interval of a failed report destination; it doubles up to 4h",
     .field = settingsField<&S::tlsrpt, &TlsRpt::report_retry_interval>(), .min = Sec, .max = 4 * Hour},
    {.name = "tlsrpt_sendmail", .type = KeyType::String, .default_value = "/usr/sbin/sendmail -i -f FROM -- TO",
     .reloadable = false,
     .help = "command the report mails are handed to (no shell): FROM and TO are replaced by the addresses",
     .field = settingsField<&S::tlsrpt, &TlsRpt::sendmail>(),
     .validate = [](std::string_view v) { return tlsrpt::sendmailCommandProblem(v); }},
    {.name = "tlsrpt_sendmail_timeout", .type = KeyType::Duration, .default_value = "60s", .reloadable = false,
     .help = "bound on one tlsrpt_sendmail run; then it is killed and the mail retried",
     .field = settingsField<&S::tlsrpt, &TlsRpt::sendmail_timeout>(), .min = Sec, .max = 10 * Min},
    {.name = "tlsrpt_dkim_key", .type = KeyType::List, .default_value = "", .reloadable = false,
     .help = "PEM private keys (RSA, Ed25519) mtastsd signs report mails with; empty = the MTA signs them",
     .field = settingsField<&S::tlsrpt, &TlsRpt::dkim_key>(), .min = 0, .max = 2,
     .validate = [](std::string_view v) { return v.starts_with('/') ? std::string() : "must be an absolute path"; }},
    {.name = "tlsrpt_dkim_selector", .type = KeyType::List, .default_value = "", .reloadable = false,
     .help = "DKIM selector of each tlsrpt_dkim_key, in the same order",
     .field = settingsField<&S::tlsrpt, &TlsRpt::dkim_selector>(), .min = 0, .max = 2,
     .validate = [](std::string_view v) { return isValidHostname(v) ? std::string() : "not a selector"; }},
    {.name = "tlsrpt_dkim_domain", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "DKIM d= of the report mails; empty = the submitter (tlsrpt_contact_info's domain)",
     .field = settingsField<&S::tlsrpt, &TlsRpt::dkim_domain>(),
     .validate = [](std::string_view v) { return v.empty() || isValidHostname(v) ? std::string() : "not a domain"; }},
    // [11] Packaged installs: the metrics endpoint and where logs go.
    {.name = "metrics_listen", .type = KeyType::String, .default_value = "", .reloadable = false,
     .help = "Prometheus metrics over HTTP (GET /metrics) at inet:HOST:PORT, e.g. inet:127.0.0.1:9461; "
             "empty = off (and nothing is counted)",
     .field = settingsField<&S::metrics, &MetricsSettings::metrics_listen>(), .validate = validMetricsAddress},
    {.name = "log_target", .type = KeyType::Enum, .default_value = "auto", .reloadable = false,
     .help = "where logs go: stderr; syslog (facility mail, ident mtastsd); auto = stderr with syslog "
             "priority prefixes and no time when stderr is systemd's journal stream, else stderr",
     .field = settingsField<&S::process, &Process::log_target>(), .choices = "auto|stderr|syslog"},
    // DANE before MTA-STS (RFC 8461 2; policy/dane_check.hpp, mtastsd(8) DANE).
    {.name = "dane", .type = KeyType::Enum, .default_value = "auto", .reloadable = true,
     .help = "auto: where the MX RRset is DNSSEC-secure and MX hosts have usable TLSA records (or an "
             "answer is bogus), answer dane-only instead of the MTA-STS verdict; Postfix then needs "
             "smtp_dns_support_level = dnssec. off: MTA-STS verdicts only",
     .field = settingsField<&S::dane, &DaneSettings::dane>(), .choices = "auto|off"},
    {.name = "dane_without_sts", .type = KeyType::Bool, .default_value = "no", .reloadable = true,
     .help = "answer dane for DANE domains without an MTA-STS policy (else NOTFOUND: Postfix's own level)",
     .field = settingsField<&S::dane, &DaneSettings::dane_without_sts>()},
    {.name = "dnssec_trust_ad", .type = KeyType::Bool, .default_value = "yes", .reloadable = false,
     .help = "yes: trust the AD bit of the resolver (as Postfix does); only a loopback resolver is "
             "trusted, else DANE checks are off (warned). no: getdns validates against "
             "dnssec_trust_anchor_file",
     .field = settingsField<&S::dane, &DaneSettings::dnssec_trust_ad>()},
    {.name = "dnssec_trust_anchor_file", .type = KeyType::Path, .default_value = "/usr/share/dns/root.key",
     .reloadable = false,
     .help = "DNSSEC trust anchors (DS or DNSKEY records, zone-file form) when dnssec_trust_ad = no; "
             "Debian's dns-root-data",
     .field = settingsField<&S::dane, &DaneSettings::dnssec_trust_anchor_file>()},
};

}  // namespace

std::span<const KeySpec> configKeys() noexcept { return Keys; }

const KeySpec* findKey(std::string_view name) noexcept {
  for (const auto& key : Keys)
    if (key.name == name) return &key;
  return nullptr;
}

}  // namespace mtasts::daemon
