// Configuration: every key declared once in configKeys() {name, type, default, reloadable,
// help} (pgbouncer's CF_ABS table), parsed from a Postfix main.cf-style text plus `-o
// key=value` overrides into a typed Settings value. Pure functions (text in, Settings or a
// list of "origin:line: message" errors out), no I/O except readConfigFile(); the same
// table feeds --check-config, the man page and reload (which keys may change at runtime).
#pragma once

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mtasts::daemon {

enum class OnResolveTimeout { NotFound, Temp };

struct Settings {
  using Ms = std::chrono::milliseconds;
  std::vector<std::string> listen;
  unsigned unix_socket_mode = 0;
  std::string unix_socket_owner;
  std::string unix_socket_group;
  std::string state_dir;
  std::string log_level;
  std::size_t max_query_size = 0;
  std::size_t max_reply_size = 0;
  std::size_t max_connections = 0;
  std::size_t max_pipelined = 0;
  Ms idle_timeout{};
  Ms write_timeout{};
  Ms shutdown_timeout{};
  std::vector<std::string> tlsrpt_map_names;
  bool strict_testing = false;
  Ms query_wait_timeout{};
  OnResolveTimeout on_resolve_timeout = OnResolveTimeout::NotFound;
  std::vector<std::string> dns_servers;
  Ms dns_timeout{};
  Ms fetch_timeout{};
  std::size_t max_policy_size = 0;
  std::string ca_file;
  Ms txt_check_interval{};
  Ms refresh_interval{};
  Ms max_idle{};
  Ms negative_ttl{};
  Ms failure_ttl{};
  Ms fetch_retry_interval{};
  Ms usage_flush_interval{};
  Ms sweep_interval{};
  std::size_t lmdb_map_size = 0;
  std::string user;         // drop to this user after binding; empty = stay
  bool allow_root = false;  // run as root without `user`

  bool operator==(const Settings&) const = default;
};

enum class KeyType { List, Octal, String, Path, Enum, Size, Int, Duration, Bool };
std::string_view keyTypeName(KeyType type) noexcept;

// Where a key's value lives in Settings; the alternative must match KeyType.
using SettingsField =
    std::variant<std::vector<std::string> Settings::*, unsigned Settings::*,
                 std::string Settings::*, std::size_t Settings::*, Settings::Ms Settings::*,
                 bool Settings::*, OnResolveTimeout Settings::*>;

struct KeySpec {
  std::string_view name;
  KeyType type;
  std::string_view default_value;  // in the file syntax; parsed by the same code as files
  bool reloadable;
  std::string_view help;
  SettingsField field;
  std::uint64_t min = 0;            // bounds in the stored unit: bytes, count, milliseconds
  std::uint64_t max = UINT64_MAX;
  std::string_view choices = {};    // Enum: "a|b|c" (stored as text, or as the enum index)
  bool allow_ms = false;            // Duration: accepts the "ms" suffix
};

// The table, in documentation order.
std::span<const KeySpec> configKeys() noexcept;
const KeySpec* findKey(std::string_view name) noexcept;

// Settings with every key at its table default.
Settings defaultSettings();

// Parses a config file's text (origin names it in errors, e.g. the path) and then the
// overrides ("key=value" each, from -o), later values winning. On any problem returns an
// error and appends one message per bad line/key/value to errors (all of them).
Result<Settings> parseConfig(std::string_view text, std::string_view origin,
                             const std::vector<std::string>& overrides,
                             std::vector<std::string>& errors);

// Reads a config file (bounded size). A missing file is empty text when !required.
Result<std::string> readConfigFile(const std::string& path, bool required);

// One value as it would be written in the file, and every key as "key = value\n".
std::string formatValue(const Settings& settings, const KeySpec& key);
std::string formatSettings(const Settings& settings);

// Names of the keys whose values differ between a and b, in table order.
std::vector<std::string> changedKeys(const Settings& a, const Settings& b);

// running with the reloadable keys taken from fresh; non-reloadable changes are reported
// in ignored (the running value stays until a restart).
Settings mergeReloadable(const Settings& running, const Settings& fresh,
                         std::vector<std::string>& applied, std::vector<std::string>& ignored);

// Value parsers, exposed for tests: durations "N" seconds or N{ms,s,m,h,d} ("ms" only when
// allow_ms), sizes "N" bytes or N{k,M,G} (powers of 1024), booleans yes/no.
Result<Settings::Ms> parseDuration(std::string_view text, bool allow_ms);
Result<std::size_t> parseSize(std::string_view text);
Result<bool> parseBool(std::string_view text);
Result<std::size_t> parseCount(std::string_view text);
std::string formatDuration(Settings::Ms value);  // largest exact unit: "90s", "5m", "250ms"
std::string formatSize(std::uint64_t bytes);     // "64M", "65536"
std::vector<std::string> splitList(std::string_view text);

// roff source of the key list for mtastsd.conf.5 (mtastsd --print-config-table-roff).
std::string configTableRoff();

}  // namespace mtasts::daemon
