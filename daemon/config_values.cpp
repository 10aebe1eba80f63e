// Value syntax of the config table: parsing and printing of durations, sizes, booleans,
// lists; printing of whole Settings; reload merging; the roff key list for the man page.
#include "daemon/config.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>

namespace mtasts::daemon {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

// Leading decimal digits of text; the rest is returned in suffix.
Result<std::uint64_t> parseNumber(std::string_view text, std::string_view& suffix) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ptr == text.data()) return fail(ErrorCode::InvalidInput, "not a number");
  if (ec == std::errc::result_out_of_range) return fail(ErrorCode::InvalidInput, "number too large");
  suffix = text.substr(static_cast<std::size_t>(ptr - text.data()));
  return n;
}

Result<std::uint64_t> scaled(std::uint64_t n, std::uint64_t unit) {
  std::uint64_t out = 0;
  if (__builtin_mul_overflow(n, unit, &out) ||
      out > static_cast<std::uint64_t>(INT64_MAX))
    return fail(ErrorCode::InvalidInput, "number too large");
  return out;
}

template <typename T>
const T& at(const Settings& s, const SettingsField& f) { return std::get<Field<T>>(f).get(s); }

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

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// roff text: backslashes escaped, a leading '.' or '\'' made literal.
std::string roffEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

}  // namespace

Result<Ms> parseDuration(std::string_view text, bool allow_ms) {
  std::string_view suffix;
  auto n = parseNumber(text, suffix);
  if (!n) return fail(ErrorCode::InvalidInput, "not a duration such as 30s, 5m, 1h or 1d");
  std::uint64_t unit = 0;
  if (suffix.empty() || suffix == "s") unit = 1000;
  else if (suffix == "ms" && allow_ms) unit = 1;
  else if (suffix == "m") unit = 60'000;
  else if (suffix == "h") unit = 3'600'000;
  else if (suffix == "d") unit = 86'400'000;
  else if (suffix == "ms")
    return fail(ErrorCode::InvalidInput, "milliseconds are not accepted for this key");
  else
    return fail(ErrorCode::InvalidInput, "unknown duration unit (use s, m, h or d)");
  auto ms = scaled(*n, unit);
  if (!ms) return fail(ErrorCode::InvalidInput, "duration too large");
  return Ms(static_cast<std::int64_t>(*ms));
}

Result<std::size_t> parseSize(std::string_view text) {
  std::string_view suffix;
  auto n = parseNumber(text, suffix);
  if (!n) return fail(ErrorCode::InvalidInput, "not a size such as 10000, 64k or 64M");
  std::uint64_t unit = 0;
  if (suffix.empty()) unit = 1;
  else if (suffix == "k" || suffix == "K") unit = KiB;
  else if (suffix == "M") unit = MiB;
  else if (suffix == "G") unit = GiB;
  else return fail(ErrorCode::InvalidInput, "unknown size unit (use k, M or G)");
  auto bytes = scaled(*n, unit);
  if (!bytes) return fail(ErrorCode::InvalidInput, "size too large");
  return static_cast<std::size_t>(*bytes);
}

Result<std::size_t> parseCount(std::string_view text) {
  std::string_view suffix;
  auto n = parseNumber(text, suffix);
  if (!n) return Unexpected{std::move(n).error()};
  if (!suffix.empty()) return fail(ErrorCode::InvalidInput, "not a whole number");
  return static_cast<std::size_t>(*n);
}

Result<bool> parseBool(std::string_view text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  return fail(ErrorCode::InvalidInput, "not yes or no");
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (i < text.size() && is_sep(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !is_sep(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::string formatDuration(Ms value) {
  const auto ms = value.count();
  if (ms == 0) return "0s";
  if (ms % 1000 != 0) return fmt::format("{}ms", ms);
  const auto s = ms / 1000;
  if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0 && s >= 300) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::string formatSize(std::uint64_t bytes) {
  if (bytes != 0 && bytes % GiB == 0) return fmt::format("{}G", bytes / GiB);
  if (bytes != 0 && bytes % MiB == 0) return fmt::format("{}M", bytes / MiB);
  return std::to_string(bytes);
}

std::string formatValue(const Settings& s, const KeySpec& key) {
  switch (key.type) {
    case KeyType::List: return joinList(at<std::vector<std::string>>(s, key.field));
    case KeyType::Octal: return fmt::format("{:04o}", at<unsigned>(s, key.field));
    case KeyType::String:
    case KeyType::Path: return at<std::string>(s, key.field);
    case KeyType::Enum:
      if (const auto* e = std::get_if<EnumField>(&key.field)) {
        const auto choices = choiceList(key.choices);
        const std::size_t i = e->get(s);
        return i < choices.size() ? std::string(choices[i]) : std::string("?");
      }
      return at<std::string>(s, key.field);
    case KeyType::Size: return formatSize(at<std::size_t>(s, key.field));
    case KeyType::Int: return std::to_string(at<std::size_t>(s, key.field));
    case KeyType::Duration: return formatDuration(at<Ms>(s, key.field));
    case KeyType::Bool: return at<bool>(s, key.field) ? "yes" : "no";
  }
  return {};
}

std::string formatSettings(const Settings& settings) {
  std::string out;
  for (const auto& key : configKeys()) {
    auto value = formatValue(settings, key);
    out += fmt::format("{} ={}{}\n", key.name, value.empty() ? "" : " ", value);
  }
  return out;
}

std::vector<std::string> changedKeys(const Settings& a, const Settings& b) {
  std::vector<std::string> out;
  for (const auto& key : configKeys()) {
    const bool same = std::visit([&](const auto& field) { return field.get(a) == field.get(b); }, key.field);
    if (!same) out.emplace_back(key.name);
  }
  return out;
}

Settings mergeReloadable(const Settings& running, const Settings& fresh,
                         std::vector<std::string>& applied, std::vector<std::string>& ignored) {
  Settings merged = running;
  for (const auto& name : changedKeys(running, fresh)) {
    const KeySpec* key = findKey(name);
    if (!key->reloadable) {
      ignored.push_back(name);
      continue;
    }
    std::visit(
        [&](const auto& field) {
          if constexpr (std::is_same_v<std::decay_t<decltype(field)>, EnumField>) {
            field.set(merged, field.get(fresh));
          } else {
            field.ref(merged) = field.get(fresh);
          }
        },
        key->field);
    applied.push_back(name);
  }
  return merged;
}

std::string configTableRoff() {
  std::string out;
  for (const auto& key : configKeys()) {
    std::string def = key.default_value.empty() ? "(empty)" : "\\fI" + roffEscape(key.default_value) + "\\fR";
    out += fmt::format(".TP\n.B {}\n", roffEscape(key.name));
    out += fmt::format("Type {}; default {}; {}.\n", keyTypeName(key.type), def,
                       key.reloadable ? "reloaded on SIGHUP" : "needs a restart");
    if (!key.choices.empty()) out += fmt::format("One of {}.\n", roffEscape(key.choices));
    out += fmt::format(".br\n{}.\n", roffEscape(key.help));
  }
  return out;
}

}  // namespace mtasts::daemon
