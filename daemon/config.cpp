#include "daemon/config.hpp"

#include "common/log.hpp"

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

constexpr std::uint64_t MiB = 1024 * 1024;

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
T& at(Settings& s, const SettingsField& f) { return std::get<Field<T>>(f).ref(s); }

std::string boundError(const KeySpec& key, const std::string& shown) {
  auto fmtBound = [&](std::uint64_t b) -> std::string {
    if (key.type == KeyType::Duration) return formatDuration(Ms(static_cast<std::int64_t>(b)));
    if (key.type == KeyType::Size) return formatSize(b);
    if (key.type == KeyType::Octal) return fmt::format("{:04o}", b);
    return std::to_string(b);
  };
  if (key.max == UINT64_MAX) return fmt::format("{} is below the minimum {}", shown, fmtBound(key.min));
  return fmt::format("{} is out of range {}..{}", shown, fmtBound(key.min), fmtBound(key.max));
}

// Parses value for key into settings; returns an error message or "". Generic by type:
// the key's own rules are its bounds, its choices and its validator.
std::string applyValue(Settings& settings, const KeySpec& key, std::string_view value) {
  const std::string shown = "\"" + escapeForLog(value, 80) + "\"";
  auto inBounds = [&](std::uint64_t v) { return v >= key.min && v <= key.max; };
  switch (key.type) {
    case KeyType::List: {
      auto items = splitList(value);
      if (!inBounds(items.size()))
        return fmt::format("needs {} to {} entries, got {}", key.min, key.max, items.size());
      if (key.validate) {
        for (const auto& item : items) {
          if (auto message = key.validate(item); !message.empty()) return message;
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
      if (key.validate) {
        if (auto message = key.validate(value); !message.empty()) return message;
      }
      at<std::string>(settings, key.field) = std::string(value);
      return {};
    }
    case KeyType::Enum: {
      auto choices = choiceList(key.choices);
      auto it = std::find(choices.begin(), choices.end(), value);
      if (it == choices.end())
        return fmt::format("{} is not one of {}", shown, key.choices);
      if (const auto* e = std::get_if<EnumField>(&key.field))
        e->set(settings, static_cast<std::size_t>(it - choices.begin()));
      else
        at<std::string>(settings, key.field) = std::string(value);
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
      at<Ms>(settings, key.field) = *v;
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

Settings defaultSettings() {
  static const Settings defaults = [] {
    Settings s;
    for (const auto& key : configKeys()) {
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
