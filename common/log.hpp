// Logging: one named spdlog logger per module ("server", "policy", "dns", "https",
// "cache", ...), all writing through one shared sink whose target is chosen once at startup:
// plain stderr lines (time, level, module, message), journal-style stderr lines ("<N>"
// syslog priority prefix, no time: journald keeps the level and adds the time), or
// syslog(3) (facility mail, ident mtastsd). Messages are constant text followed by key=value
// fields; untrusted text goes through escapeForLog() first. Thread-safe.
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

enum class LogTarget { Stderr, Journal, Syslog };

// The `log_target` setting: "stderr", "syslog", or "auto" (Journal when stderr is the stream
// systemd connected to the journal, see stderrIsJournal(), else Stderr). Until it is called
// the target is "auto". Returns false for another name. Call it before other threads log.
bool setLogTarget(std::string_view target);
LogTarget currentLogTarget();
std::string_view logTargetName(LogTarget target) noexcept;  // "stderr", "journal", "syslog"

// Whether JOURNAL_STREAM (set by systemd as "<device>:<inode>" for a service whose output
// goes to the journal) names this process's stderr; a child whose stderr was redirected
// inherits the variable but not the stream.
bool stderrIsJournal();

// The sd-daemon(3) priority prefix for a level: "<7>" debug and trace, "<6>" info, "<4>"
// warn, "<3>" error, "<2>" critical.
std::string_view journalPrefix(spdlog::level::level_enum level) noexcept;

// Untrusted bytes made safe for one log line: printable ASCII kept, everything else as
// \xNN, backslash and quote escaped, cut to max_bytes of input with "..." appended.
std::string escapeForLog(std::string_view text, std::size_t max_bytes = 200);

}  // namespace mtasts
