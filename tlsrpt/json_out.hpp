// JsonOut: the small JSON text writer of the report and --tlsrpt-status output: members of
// nested objects and arrays with 2-space indentation, strings escaped to 7-bit JSON whatever
// bytes they hold (text_escape.hpp), integers capped at 2^53-1 (I-JSON). Every open() is
// matched by a close(); commas come from tracking whether a level has members yet. Pure.
#pragma once

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/text_escape.hpp"

namespace mtasts::tlsrpt {

// I-JSON (RFC 7493 2.2): integers beyond 2^53-1 lose precision in many parsers. No real day
// reaches it; a capped count is still a truthful lower bound, a rounded one would not be.
inline constexpr std::uint64_t MaxJsonInteger = (std::uint64_t{1} << 53) - 1;

class JsonOut {
 public:
  void open(std::string_view key, char bracket) {
    startMember(key);
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += bracket;
  }
  void string(std::string_view key, std::string_view value) {
    startMember(key);
    appendJsonString(out_, value);
  }
  void optionalString(std::string_view key, std::string_view value) {
    if (!value.empty()) string(key, value);
  }
  void number(std::string_view key, std::uint64_t value) {
    startMember(key);
    out_ += fmt::format("{}", std::min(value, MaxJsonInteger));
  }
  void null(std::string_view key) {
    startMember(key);
    out_ += "null";
  }
  void optionalStringArray(std::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    open(key, '[');
    for (const auto& v : values) string({}, v);
    close(']');
  }
  std::string finish() {
    out_ += '\n';
    return std::move(out_);
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  // key empty: an array element (or the top-level value).
  void startMember(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      newline();
    }
    if (!key.empty()) {
      appendJsonString(out_, key);
      out_ += ": ";
    }
  }

  std::string out_;
  std::vector<bool> first_;
};

}  // namespace mtasts::tlsrpt
