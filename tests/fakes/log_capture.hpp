// LogCapture: records what one module logger (common/log.hpp) writes while it lives, so a
// test can count warnings. Adds its own sink to that logger and removes it on destruction;
// the logger's other sinks still write. Single-threaded tests only: it edits the logger's
// sink list without a lock.
#pragma once

#include "common/log.hpp"

#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::testing {

class LogCapture {
 public:
  struct Line {
    spdlog::level::level_enum level;
    std::string text;  // the message alone, without level or logger name
  };

  explicit LogCapture(const std::string& module)
      : logger_(moduleLogger(module)), sink_(std::make_shared<Sink>()) {
    logger_->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = logger_->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  const std::vector<Line>& lines() const { return sink_->lines; }
  // Lines at `level` whose text contains every one of `parts`.
  std::vector<std::string> matching(spdlog::level::level_enum level,
                                    std::initializer_list<std::string_view> parts = {}) const {
    std::vector<std::string> out;
    for (const auto& line : sink_->lines) {
      if (line.level != level) continue;
      const bool all = std::all_of(parts.begin(), parts.end(), [&](std::string_view p) {
        return line.text.find(p) != std::string::npos;
      });
      if (all) out.push_back(line.text);
    }
    return out;
  }
  std::size_t warnings(std::initializer_list<std::string_view> parts = {}) const {
    return matching(spdlog::level::warn, parts).size();
  }
  void clear() { sink_->lines.clear(); }

 private:
  struct Sink final : spdlog::sinks::base_sink<std::mutex> {
    std::vector<Line> lines;

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      lines.push_back(Line{msg.level, std::string(msg.payload.data(), msg.payload.size())});
    }
    void flush_() override {}
  };

  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Sink> sink_;
};

}  // namespace mtasts::testing
