// RecordWriter / RecordReader: the field primitives of mtastsd's own TLS-RPT records (the
// day records and the report sender's state): bytes, canonical varints and zigzag
// (common/varint.hpp), length-prefixed strings and string lists. The reader bounds every
// value, length and count by the caller's maximum and by the bytes left, and names the field
// in its error (ErrorCode::InvalidInput); the first error ends a decode. Pure, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

class RecordWriter {
 public:
  explicit RecordWriter(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void uv(std::uint64_t v);
  void sv(std::int64_t v);
  void str(std::string_view s);
  void list(const std::vector<std::string>& items);

 private:
  std::string& out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool atEnd() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }

  Result<void> u8(std::uint8_t& v, std::uint8_t max, const char* field);
  // Canonical LEB128: at most 64 bits, no trailing zero group, at most `max`.
  Result<void> uv(std::uint64_t& v, std::uint64_t max, const char* field);
  Result<void> sv(std::int64_t& v, const char* field);
  Result<void> str(std::string& out, std::size_t max_bytes, const char* field);
  Result<void> list(std::vector<std::string>& out, std::size_t max_count, std::size_t max_bytes, const char* field);

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace mtasts::tlsrpt
