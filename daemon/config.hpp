// Configuration: every key declared once in configKeys() {name, type, default, reloadable,
// help, where it lives, bounds, choices, validator} (pgbouncer's CF_ABS table, in
// config_table.cpp), parsed from a Postfix main.cf-style text plus `-o key=value` overrides
// into the typed, sectioned Settings (settings.hpp). Pure functions (text in, Settings or a
// list of "origin:line: message" errors out), no I/O except readConfigFile(); the same table
// feeds --check-config, the man page and reload (which keys may change at runtime). Values
// are parsed by type; a key's own rules are its validator and, for enums, its choices:
// nothing key-specific lives in the parser.
#pragma once

#include "common/result.hpp"
#include "daemon/settings.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace mtasts::daemon {

enum class KeyType { List, Octal, String, Path, Enum, Size, Int, Duration, Bool };
std::string_view keyTypeName(KeyType type) noexcept;

// Where a key's value lives: a field of one section of Settings, reached through two
// function pointers (made by settingsField<&Settings::section, &Section::member>()).
template <typename T>
struct Field {
  T& (*ref)(Settings&);
  const T& (*get)(const Settings&);
};
// An enum field, stored as the index of its value in the key's choices (the generic enum
// mapping: a new enum key needs only its type and its choices, in declaration order).
struct EnumField {
  std::size_t (*get)(const Settings&);
  void (*set)(Settings&, std::size_t);
};
using SettingsField = std::variant<Field<std::vector<std::string>>, Field<unsigned>, Field<std::string>,
                                   Field<std::size_t>, Field<Ms>, Field<bool>, EnumField>;

template <auto Section, auto Member>
constexpr SettingsField settingsField() {
  using T = std::remove_cvref_t<decltype(std::declval<Settings&>().*Section.*Member)>;
  if constexpr (std::is_enum_v<T>) {
    return EnumField{[](const Settings& s) { return static_cast<std::size_t>(s.*Section.*Member); },
                     [](Settings& s, std::size_t i) { s.*Section.*Member = static_cast<T>(i); }};
  } else {
    return Field<T>{[](Settings& s) -> T& { return s.*Section.*Member; },
                    [](const Settings& s) -> const T& { return s.*Section.*Member; }};
  }
}

// A key's own rule for one value (each item of a list): "" when fine, else the message.
using Validator = std::string (*)(std::string_view value);

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
  Validator validate = nullptr;
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
Result<Ms> parseDuration(std::string_view text, bool allow_ms);
Result<std::size_t> parseSize(std::string_view text);
Result<bool> parseBool(std::string_view text);
Result<std::size_t> parseCount(std::string_view text);
std::string formatDuration(Ms value);  // largest exact unit: "90s", "5m", "250ms"
std::string formatSize(std::uint64_t bytes);     // "64M", "65536"
std::vector<std::string> splitList(std::string_view text);

// roff source of the key list for mtastsd.conf.5 (mtastsd --print-config-table-roff).
std::string configTableRoff();

}  // namespace mtasts::daemon
