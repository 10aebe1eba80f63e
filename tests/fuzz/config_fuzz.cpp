// libFuzzer target for the configuration parser (daemon/config.hpp: parseConfig and the
// value parsers). Input layout: the bytes before the first 0x1e (ASCII RS) are the file text,
// the bytes after it are `-o` overrides, one per '\n'. NUL bytes are kept (files may hold them).
// Invariants, checked with abort(): success iff no errors; every error names its origin and
// is printable (config text must not forge log lines); accepted settings print with
// formatSettings() and parse back to the same settings; reload merging partitions the changed
// keys; the value parsers round-trip through their formatters.
#include "daemon/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace mtasts::daemon;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool isPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// Overrides come from the administrator's command line, not from files: a value with a line
// break is legal there but cannot be printed back as one file line, so only file-shaped
// overrides take part in the round trip.
bool fileShaped(const std::vector<std::string>& overrides) {
  return std::all_of(overrides.begin(), overrides.end(), [](const std::string& o) {
    return o.find_first_of(std::string_view("\n\r\0", 3)) == std::string::npos;
  });
}

void checkSettings(const Settings& s) {
  const std::string text = formatSettings(s);
  std::vector<std::string> errors;
  const auto again = parseConfig(text, "formatted", {}, errors);
  require(again.has_value() && errors.empty());
  require(*again == s);
  require(changedKeys(s, *again).empty());

  std::vector<std::string> applied;
  std::vector<std::string> ignored;
  const Settings running = defaultSettings();
  const Settings merged = mergeReloadable(running, s, applied, ignored);
  require(applied.size() + ignored.size() == changedKeys(running, s).size());
  for (const auto& name : applied) require(findKey(name)->reloadable);
  for (const auto& name : ignored) require(!findKey(name)->reloadable);
  // Everything not ignored now equals the fresh value; everything ignored kept the old one.
  require(changedKeys(merged, s) == ignored);
}

void checkValueParsers(std::string_view value) {
  for (const bool allow_ms : {false, true}) {
    if (const auto d = parseDuration(value, allow_ms)) {
      require(d->count() >= 0);
      const auto back = parseDuration(formatDuration(*d), true);
      require(back.has_value() && *back == *d);
      if (!allow_ms) require(parseDuration(value, true).has_value());
    }
  }
  if (const auto n = parseSize(value)) {
    const auto back = parseSize(formatSize(*n));
    require(back.has_value() && *back == *n);
  }
  if (const auto n = parseCount(value)) {
    const auto back = parseCount(std::to_string(*n));
    require(back.has_value() && *back == *n);
    // Counts take any uint64 (the key bounds come later); sizes stop at INT64_MAX bytes.
    if (*n <= static_cast<std::size_t>(INT64_MAX)) {
      const auto size = parseSize(value);
      require(size.has_value() && *size == *n);
    }
  }
  if (const auto b = parseBool(value)) require(value == (*b ? "yes" : "no"));

  const auto items = splitList(value);
  std::string joined;
  for (const auto& item : items) {
    require(!item.empty());
    require(item.find_first_of(", \t\r\n") == std::string::npos);
    joined += (joined.empty() ? "" : ", ") + item;
  }
  require(splitList(joined) == items);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t rs = bytes.find('\x1e');
  const std::string_view text = bytes.substr(0, rs);
  std::vector<std::string> overrides;
  if (rs != std::string_view::npos) {
    std::string_view rest = bytes.substr(rs + 1);
    while (true) {
      const std::size_t nl = rest.find('\n');
      overrides.emplace_back(rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }

  std::vector<std::string> errors;
  const auto settings = parseConfig(text, "fuzz.conf", overrides, errors);
  require(settings.has_value() == errors.empty());
  for (const auto& e : errors) {
    require(e.starts_with("fuzz.conf:") || e.starts_with("-o "));
    require(isPrintableAscii(e));
    require(e.size() <= 1000);  // bounded however long the hostile line is
  }
  if (settings && fileShaped(overrides)) checkSettings(*settings);

  checkValueParsers(text);
  return 0;
}
