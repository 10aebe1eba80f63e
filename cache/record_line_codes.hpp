// record_line_codes: version 2 of the record encoding stores a policy line that the parsed
// fields reproduce as one code byte (layout in record_codec.hpp). Internal to
// record_codec.cpp; pure, no allocation beyond the strings it fills.
#pragma once

#include "sts/policy.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts::cache::detail {

// Version 2 line codes (layout in record_codec.hpp). The encoder and the decoder walk the
// lines through one LineCodes each, in order, so both pair the n-th mx line with mx[n] and
// "would the encoder have coded this literal" is the very test the encoder ran.
enum LineCode : std::uint8_t { Literal = 0, VersionLine, ModeLine, MaxAgeLine, MxLine };

class LineCodes {
 public:
  explicit LineCodes(const sts::Policy& policy) : policy_(policy) {
    if (policy.max_age < 0) return;  // no sign in a coded max_age; checkEncodable refuses it
    char* const begin = max_age_.data();
    const auto [end, ec] = std::to_chars(begin, begin + max_age_.size(), policy.max_age);
    max_age_size_ = ec == std::errc{} ? static_cast<std::size_t>(end - begin) : 0;
  }

  // The code that stands for this line, Literal if none does. Call once per line, in order:
  // every mx line takes its position's mx entry, coded or not.
  LineCode codeOf(std::string_view key, std::string_view value) {
    if (key == "mx") {
      if (next_mx_ == policy_.mx.size()) return Literal;
      return policy_.mx[next_mx_++] == value ? MxLine : Literal;
    }
    if (key == "version" && value == "STSv1") return VersionLine;
    if (key == "mode" && value == sts::modeName(policy_.mode)) return ModeLine;
    if (key == "max_age" && max_age_size_ != 0 && value == maxAge()) return MaxAgeLine;
    return Literal;
  }

  // Fills the line a non-literal code stands for; false if the code is unknown or nothing
  // is left for it. assign() keeps the strings' capacity (the hot path reuses them).
  bool expand(std::uint8_t code, std::string& key, std::string& value) {
    switch (code) {
      case VersionLine: return set(key, value, "version", "STSv1");
      case ModeLine: return set(key, value, "mode", sts::modeName(policy_.mode));
      case MaxAgeLine: return max_age_size_ != 0 && set(key, value, "max_age", maxAge());
      case MxLine:
        return next_mx_ != policy_.mx.size() && set(key, value, "mx", policy_.mx[next_mx_++]);
      default: return false;
    }
  }

 private:
  static bool set(std::string& key, std::string& value, std::string_view k, std::string_view v) {
    key.assign(k);
    value.assign(v);
    return true;
  }
  std::string_view maxAge() const { return {max_age_.data(), max_age_size_}; }

  const sts::Policy& policy_;
  std::size_t next_mx_ = 0;         // mx lines seen so far
  std::array<char, 20> max_age_{};  // an int64 has at most 19 digits
  std::size_t max_age_size_ = 0;    // 0: max_age has no coded form
};

}  // namespace mtasts::cache::detail
