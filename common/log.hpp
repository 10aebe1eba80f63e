// Logging: one named spdlog logger per module ("server", "policy", "dns", "https",
// "cache", ...), all writing to stderr (systemd collects it). Messages are constant text
// followed by key=value fields; untrusted text goes through escapeForLog() first.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace mtasts {

// The logger for a module; created on first use with the current level.
std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module);

// Sets the level of every module logger, existing and future. Returns false for an
// unknown level name (trace, debug, info, warn, error, critical, off).
bool setLogLevel(std::string_view level);

// Untrusted bytes made safe for one log line: printable ASCII kept, everything else as
// \xNN, backslash and quote escaped, cut to max_bytes of input with "..." appended.
std::string escapeForLog(std::string_view text, std::size_t max_bytes = 200);

}  // namespace mtasts
