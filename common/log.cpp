#include "common/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace mtasts {
namespace {

std::mutex registry_mutex;
spdlog::level::level_enum current_level = spdlog::level::info;
LogTarget current_target = LogTarget::Stderr;
bool target_chosen = false;

// Journal-style stderr: "<N>" then the line. Written with one fwrite per line so that
// journald, which reads the stream line by line, never sees a prefix without its line.
class JournalStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(journalPrefix(msg.level));
    line.append(formatted.data(), formatted.size());
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// Every module logger writes into this one sink; setLogTarget() swaps what is behind it.
std::shared_ptr<spdlog::sinks::dist_sink_mt> sharedSink() {
  static const auto sink = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return sink;
}

spdlog::sink_ptr makeTargetSink(LogTarget target) {
  spdlog::sink_ptr sink;
  switch (target) {
    case LogTarget::Stderr:
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %n: %v");
      break;
    case LogTarget::Journal:
      sink = std::make_shared<JournalStderrSink>();
      sink->set_pattern("%l %n: %v");  // journald adds the time; "%l" keeps lines greppable
      break;
    case LogTarget::Syslog:
      // syslog adds time, host, ident and pid; the level is the priority (spdlog maps
      // trace/debug to LOG_DEBUG ... critical to LOG_CRIT).
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("mtastsd", LOG_PID | LOG_NDELAY, LOG_MAIL, true);
      sink->set_pattern("%l %n: %v");
      break;
  }
  return sink;
}

// Called with registry_mutex held.
void installTarget(LogTarget target) {
  current_target = target;
  target_chosen = true;
  sharedSink()->set_sinks({makeTargetSink(target)});
}

void ensureTarget() {
  if (!target_chosen) installTarget(stderrIsJournal() ? LogTarget::Journal : LogTarget::Stderr);
}

}  // namespace

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module) {
  std::lock_guard lock(registry_mutex);
  if (auto existing = spdlog::get(module)) return existing;
  ensureTarget();
  auto logger = std::make_shared<spdlog::logger>(module, sharedSink());
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

bool setLogTarget(std::string_view target) {
  LogTarget chosen = LogTarget::Stderr;
  if (target == "auto") {
    chosen = stderrIsJournal() ? LogTarget::Journal : LogTarget::Stderr;
  } else if (target == "syslog") {
    chosen = LogTarget::Syslog;
  } else if (target != "stderr") {
    return false;
  }
  std::lock_guard lock(registry_mutex);
  if (target_chosen && chosen == current_target) return true;  // keep the sink (and syslog's openlog)
  installTarget(chosen);
  return true;
}

LogTarget currentLogTarget() {
  std::lock_guard lock(registry_mutex);
  ensureTarget();
  return current_target;
}

std::string_view logTargetName(LogTarget target) noexcept {
  switch (target) {
    case LogTarget::Stderr: return "stderr";
    case LogTarget::Journal: return "journal";
    case LogTarget::Syslog: return "syslog";
  }
  return "?";
}

bool stderrIsJournal() {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (value == nullptr) return false;
  const std::string_view text(value);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  const auto d = std::from_chars(text.data(), text.data() + colon, dev);
  const auto i = std::from_chars(text.data() + colon + 1, text.data() + text.size(), ino);
  if (d.ec != std::errc() || d.ptr != text.data() + colon || i.ec != std::errc() ||
      i.ptr != text.data() + text.size())
    return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string_view journalPrefix(spdlog::level::level_enum level) noexcept {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "<7>";
    case spdlog::level::info: return "<6>";
    case spdlog::level::warn: return "<4>";
    case spdlog::level::err: return "<3>";
    case spdlog::level::critical: return "<2>";
    default: return "<6>";
  }
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
