#include "daemon/config.hpp"

#include "common/log.hpp"
#include "net/listener.hpp"
#include "sts/policy_parser.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace mtasts::daemon {
namespace {

using S = Settings;
constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t Sec = 1000;
constexpr std::uint64_t Min = 60 * Sec;
constexpr std::uint64_t Hour = 60 * Min;
constexpr std::uint64_t Day = 24 * Hour;
constexpr std::uint64_t Year = 365 * Day;

// The one declaration of every key. Bounds are in the stored unit (bytes, count, ms).
const KeySpec Keys[] = {
    {"listen", KeyType::List, "inet:127.0.0.1:8461", false,
     "socketmap listeners: inet:HOST:PORT, inet:[::1]:PORT, unix:/path", &S::listen, 1, 64},
    {"unix_socket_mode", KeyType::Octal, "0666", false,
     "mode of unix listeners (Postfix's smtp runs as user postfix)", &S::unix_socket_mode, 0,
     07777},
    {"unix_socket_owner", KeyType::String, "", false,
     "owner of unix listeners (empty = unchanged)", &S::unix_socket_owner},
    {"unix_socket_group", KeyType::String, "", false,
     "group of unix listeners (empty = unchanged)", &S::unix_socket_group},
    {"state_dir", KeyType::Path, "/var/lib/mtastsd", false,
     "LMDB store directory (created with mode 0750 if missing)", &S::state_dir, 1},
    {"log_level", KeyType::Enum, "info", true, "log threshold", &S::log_level, 0, UINT64_MAX,
     "trace|debug|info|warn|error|critical|off"},
    {"max_query_size", KeyType::Size, "10000", true,
     "largest socketmap request payload accepted", &S::max_query_size, 16, 1 * MiB},
    {"max_reply_size", KeyType::Size, "100000", true,
     "largest reply payload sent (Postfix's limit is 100000)", &S::max_reply_size, 1024,
     100000},
    {"max_connections", KeyType::Int, "1000", true,
     "concurrent socketmap connections; beyond it new ones are closed", &S::max_connections,
     1, 1000000},
    {"max_pipelined", KeyType::Int, "1000", true,
     "requests waiting for replies per connection before reading pauses", &S::max_pipelined,
     1, 100000},
    {"idle_timeout", KeyType::Duration, "60s", true,
     "close a connection with no request in flight after this", &S::idle_timeout, Sec, Day},
    {"write_timeout", KeyType::Duration, "30s", true,
     "close a connection whose replies cannot be written for this long", &S::write_timeout,
     Sec, Day},
    {"shutdown_timeout", KeyType::Duration, "10s", false,
     "on SIGTERM, how long in-flight requests may still finish", &S::shutdown_timeout, 0,
     10 * Min},
    {"tlsrpt_map_names", KeyType::List, "postfix-tlsrpt", true,
     "map names whose verdicts carry Postfix >= 3.10 TLSRPT attributes",
     &S::tlsrpt_map_names, 0, 64},
    {"strict_testing", KeyType::Bool, "no", true, "treat mode testing like enforce",
     &S::strict_testing},
    {"query_wait_timeout", KeyType::Duration, "5s", true,
     "how long a query waits for a resolve before on_resolve_timeout applies",
     &S::query_wait_timeout, 1, 90 * Sec, {}, true},
    {"on_resolve_timeout", KeyType::Enum, "NOTFOUND", true,
     "answer when a resolve takes longer than query_wait_timeout", &S::on_resolve_timeout, 0,
     UINT64_MAX, "NOTFOUND|TEMP"},
    {"dns_servers", KeyType::List, "", false,
     "upstream resolvers host[:port] or [v6]:port; empty = /etc/resolv.conf",
     &S::dns_servers, 0, 16},
    {"dns_timeout", KeyType::Duration, "5s", false, "per DNS query bound", &S::dns_timeout,
     1, Min, {}, true},
    {"fetch_timeout", KeyType::Duration, "10s", true, "bound on one whole policy fetch",
     &S::fetch_timeout, 1, 5 * Min, {}, true},
    // The policy parser's own limit is the ceiling: a larger body would be downloaded only
    // to be refused. Below 1 KiB ordinary policies with a few mx lines would not fit.
    {"max_policy_size", KeyType::Size, "65536", true,
     "largest policy body fetched, 1024 to 65536 (RFC 8461 3.3 suggests 64 KiB, the policy "
     "parser's limit); a larger body is an sts-policy-fetch-error",
     &S::max_policy_size, 1 * KiB, sts::MaxPolicyBodyBytes},
    {"ca_file", KeyType::Path, "", false,
     "PEM CA bundle for policy hosts; empty = system store", &S::ca_file},
    {"txt_check_interval", KeyType::Duration, "1h", true,
     "re-check the _mta-sts TXT id of a cached policy at most this often",
     &S::txt_check_interval, Sec, Year},
    {"refresh_interval", KeyType::Duration, "1d", true,
     "refetch a used policy once its fetch is older than this (jittered)",
     &S::refresh_interval, Hour, Year},
    {"max_idle", KeyType::Duration, "30d", true,
     "policies unused this long are not refreshed and are swept once expired", &S::max_idle,
     Hour, 10 * Year},
    {"negative_ttl", KeyType::Duration, "1h", true,
     "cache \"no record\" and mode none this long", &S::negative_ttl, Sec, Year},
    {"failure_ttl", KeyType::Duration, "5m", true,
     "cache a DNS failure (never over a valid policy) this long", &S::failure_ttl, Sec, Year},
    {"fetch_retry_interval", KeyType::Duration, "5m", true,
     "least time before fetching the same TXT id again after a failure (at least 5m)",
     &S::fetch_retry_interval, 5 * Min, Year},
    {"usage_flush_interval", KeyType::Duration, "60s", true,
     "how often batched last-used stamps are written (a stamp moves once an hour at most)", &S::usage_flush_interval, Sec, Day},
    {"sweep_interval", KeyType::Duration, "1h", true,
     "how often expired idle entries are deleted", &S::sweep_interval, Min, Year},
    {"lmdb_map_size", KeyType::Size, "64M", false,
     "initial LMDB map size (grows on demand)", &S::lmdb_map_size, 64 * KiB, MiB * MiB},
    {"user", KeyType::String, "mtastsd", false,
     "when started as root, switch to this user (and its groups) after binding the listeners; "
     "state_dir is given to it; empty = do not switch (root then needs allow_root = yes)",
     &S::user},
    {"allow_root", KeyType::Bool, "no", false,
     "allow running as root without user (not recommended)", &S::allow_root},
};

std::vector<std::string_view> choiceList(std::string_view choices) {
  std::vector<std::string_view> out;
  while (!choices.empty()) {
    auto bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return out;
}

template <typename T>
T& at(Settings& s, const SettingsField& f) { return s.*std::get<T Settings::*>(f); }

std::string boundError(const KeySpec& key, const std::string& shown) {
  auto fmtBound = [&](std::uint64_t b) -> std::string {
    if (key.type == KeyType::Duration) return formatDuration(Settings::Ms(static_cast<std::int64_t>(b)));
    if (key.type == KeyType::Size) return formatSize(b);
    if (key.type == KeyType::Octal) return fmt::format("{:04o}", b);
    return std::to_string(b);
  };
  if (key.max == UINT64_MAX) return fmt::format("{} is below the minimum {}", shown, fmtBound(key.min));
  return fmt::format("{} is out of range {}..{}", shown, fmtBound(key.min), fmtBound(key.max));
}

// Parses value for key into settings; returns an error message or "".
std::string applyValue(Settings& settings, const KeySpec& key, std::string_view value) {
  const std::string shown = "\"" + escapeForLog(value, 80) + "\"";
  auto inBounds = [&](std::uint64_t v) { return v >= key.min && v <= key.max; };
  switch (key.type) {
    case KeyType::List: {
      auto items = splitList(value);
      if (!inBounds(items.size()))
        return fmt::format("needs {} to {} entries, got {}", key.min, key.max, items.size());
      if (key.field == SettingsField(&S::listen)) {
        for (const auto& item : items) {
          auto parsed = net::parseListenAddress(item);
          if (!parsed) return parsed.error().detail;
        }
      }
      at<std::vector<std::string>>(settings, key.field) = std::move(items);
      return {};
    }
    case KeyType::Octal: {
      unsigned v = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v, 8);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
        return fmt::format("{} is not an octal mode such as 0660", shown);
      if (!inBounds(v)) return boundError(key, shown);
      at<unsigned>(settings, key.field) = v;
      return {};
    }
    case KeyType::String:
    case KeyType::Path: {
      if (value.find('\0') != std::string_view::npos) return "value contains a NUL byte";
      if (!inBounds(value.size())) return "value must not be empty";
      at<std::string>(settings, key.field) = std::string(value);
      return {};
    }
    case KeyType::Enum: {
      auto choices = choiceList(key.choices);
      auto it = std::find(choices.begin(), choices.end(), value);
      if (it == choices.end())
        return fmt::format("{} is not one of {}", shown, key.choices);
      if (std::holds_alternative<std::string Settings::*>(key.field))
        at<std::string>(settings, key.field) = std::string(value);
      else
        at<OnResolveTimeout>(settings, key.field) =
            static_cast<OnResolveTimeout>(it - choices.begin());
      return {};
    }
    case KeyType::Size:
    case KeyType::Int: {
      Result<std::size_t> v = key.type == KeyType::Size ? parseSize(value) : parseCount(value);
      if (!v) return fmt::format("{}: {}", shown, v.error().detail);
      if (!inBounds(*v)) return boundError(key, shown);
      at<std::size_t>(settings, key.field) = *v;
      return {};
    }
    case KeyType::Duration: {
      auto v = parseDuration(value, key.allow_ms);
      if (!v) return fmt::format("{}: {}", shown, v.error().detail);
      if (!inBounds(static_cast<std::uint64_t>(v->count()))) return boundError(key, shown);
      at<Settings::Ms>(settings, key.field) = *v;
      return {};
    }
    case KeyType::Bool: {
      auto v = parseBool(value);
      if (!v) return fmt::format("{}: {}", shown, v.error().detail);
      at<bool>(settings, key.field) = *v;
      return {};
    }
  }
  return "unknown key type";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// "key = value" (file) or "key=value" (-o): applies it or appends one error.
void applyAssignment(Settings& settings, std::string_view line, const std::string& where,
                     std::vector<std::string>& errors) {
  auto eq = line.find('=');
  if (eq == std::string_view::npos) {
    errors.push_back(fmt::format("{}: missing '=' in \"{}\"", where, escapeForLog(line, 80)));
    return;
  }
  auto name = trim(line.substr(0, eq));
  auto value = trim(line.substr(eq + 1));
  if (name.empty()) {
    errors.push_back(fmt::format("{}: missing key name before '='", where));
    return;
  }
  const KeySpec* key = findKey(name);
  if (!key) {
    errors.push_back(fmt::format("{}: unknown configuration key \"{}\"", where, escapeForLog(name, 80)));
    return;
  }
  if (auto message = applyValue(settings, *key, value); !message.empty())
    errors.push_back(fmt::format("{}: {}: {}", where, key->name, message));
}

}  // namespace

std::string_view keyTypeName(KeyType type) noexcept {
  switch (type) {
    case KeyType::List: return "list";
    case KeyType::Octal: return "octal";
    case KeyType::String: return "string";
    case KeyType::Path: return "path";
    case KeyType::Enum: return "enum";
    case KeyType::Size: return "size";
    case KeyType::Int: return "integer";
    case KeyType::Duration: return "duration";
    case KeyType::Bool: return "boolean";
  }
  return "?";
}

std::span<const KeySpec> configKeys() noexcept { return Keys; }

const KeySpec* findKey(std::string_view name) noexcept {
  for (const auto& key : Keys)
    if (key.name == name) return &key;
  return nullptr;
}

Settings defaultSettings() {
  static const Settings defaults = [] {
    Settings s;
    for (const auto& key : Keys) {
      // The table is ours: a default that does not parse is a bug caught by the tests.
      auto message = applyValue(s, key, key.default_value);
      assert(message.empty());
      (void)message;
    }
    return s;
  }();
  return defaults;
}

Result<Settings> parseConfig(std::string_view text, std::string_view origin,
                             const std::vector<std::string>& overrides,
                             std::vector<std::string>& errors) {
  const std::size_t errors_before = errors.size();
  Settings settings = defaultSettings();
  std::string logical;
  std::size_t logical_line = 0;
  auto flush = [&] {
    if (logical_line != 0)
      applyAssignment(settings, logical, fmt::format("{}:{}", origin, logical_line), errors);
    logical.clear();
    logical_line = 0;
  };
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    auto content = trim(line);
    if (content.empty() || content.front() == '#') continue;  // Postfix: skipped anywhere
    if (line.front() == ' ' || line.front() == '\t') {
      if (logical_line == 0) {
        errors.push_back(fmt::format("{}:{}: continuation line without a preceding key", origin, line_no));
        continue;
      }
      logical += ' ';
      logical += content;
      continue;
    }
    flush();
    logical = std::string(content);
    logical_line = line_no;
  }
  flush();
  for (const auto& o : overrides)
    applyAssignment(settings, o, fmt::format("-o {}", escapeForLog(o, 80)), errors);
  if (errors.size() != errors_before)
    return fail(ErrorCode::InvalidInput,
                fmt::format("{} configuration error(s)", errors.size() - errors_before));
  return settings;
}

Result<std::string> readConfigFile(const std::string& path, bool required) {
  constexpr std::size_t MaxFile = 1 * MiB;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT && !required) return std::string();
    return fail(ErrorCode::Io, fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > MaxFile)
      return fail(ErrorCode::TooLarge, fmt::format("{}: larger than {} bytes", path, MaxFile));
  }
  if (in.bad()) return fail(ErrorCode::Io, fmt::format("{}: read error", path));
  return text;
}

}  // namespace mtasts::daemon
