#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace mtasts {
namespace {

std::mutex registry_mutex;
spdlog::level::level_enum current_level = spdlog::level::info;

spdlog::sink_ptr sharedSink() {
  static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

}  // namespace

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module) {
  std::lock_guard lock(registry_mutex);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = std::make_shared<spdlog::logger>(module, sharedSink());
  // No timestamp: systemd's journal adds one. Level and module name first.
  logger->set_pattern("%l %n: %v");
  logger->set_level(current_level);
  spdlog::register_logger(logger);
  return logger;
}

bool setLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for anything it does not know.
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(registry_mutex);
  current_level = parsed;
  spdlog::apply_all([parsed](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
  return true;
}

std::string escapeForLog(std::string_view text, std::size_t max_bytes) {
  static constexpr char Hex[] = "0123456789abcdef";
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size() + 8);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);  // bytes above 0x7f are escaped, not negative
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += Hex[c >> 4];
      out += Hex[c & 0xf];
    }
  }
  if (cut) out += "...";
  return out;
}

}  // namespace mtasts
