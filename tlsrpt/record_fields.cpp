#include "tlsrpt/record_fields.hpp"

#include <spdlog/fmt/fmt.h>

#include <utility>

#include "common/varint.hpp"

namespace mtasts::tlsrpt {
namespace {

Result<void> invalid(std::string detail) { return fail(ErrorCode::InvalidInput, std::move(detail)); }

}  // namespace

void RecordWriter::uv(std::uint64_t v) { appendVarint(out_, v); }

void RecordWriter::sv(std::int64_t v) { uv(zigzagEncode(v)); }

void RecordWriter::str(std::string_view s) {
  uv(s.size());
  out_.append(s);
}

void RecordWriter::list(const std::vector<std::string>& items) {
  uv(items.size());
  for (const auto& s : items) str(s);
}

Result<void> RecordReader::u8(std::uint8_t& v, std::uint8_t max, const char* field) {
  if (pos_ >= in_.size()) return invalid(fmt::format("truncated at {}", field));
  v = static_cast<std::uint8_t>(in_[pos_++]);
  if (v > max) return invalid(fmt::format("{}: {} exceeds {}", field, v, max));
  return {};
}

Result<void> RecordReader::uv(std::uint64_t& v, std::uint64_t max, const char* field) {
  const VarintRead r = readVarint(in_, pos_);
  pos_ = r.next;
  v = r.value;
  switch (r.status) {
    case VarintStatus::Ok: break;
    case VarintStatus::Truncated: return invalid(fmt::format("truncated at {}", field));
    case VarintStatus::Overflow: return invalid(fmt::format("{}: varint over 64 bits", field));
    case VarintStatus::Overlong: return invalid(fmt::format("{}: non-canonical varint", field));
  }
  if (v > max) return invalid(fmt::format("{}: {} exceeds {}", field, v, max));
  return {};
}

Result<void> RecordReader::sv(std::int64_t& v, const char* field) {
  std::uint64_t raw = 0;
  if (auto r = uv(raw, UINT64_MAX, field); !r) return r;
  v = zigzagDecode(raw);
  return {};
}

Result<void> RecordReader::str(std::string& out, std::size_t max_bytes, const char* field) {
  std::uint64_t n = 0;
  if (auto r = uv(n, max_bytes, field); !r) return r;
  if (n > remaining()) return invalid(fmt::format("truncated in {}", field));
  out.assign(in_.data() + pos_, n);
  pos_ += n;
  return {};
}

Result<void> RecordReader::list(std::vector<std::string>& out, std::size_t max_count, std::size_t max_bytes,
                                const char* field) {
  std::uint64_t n = 0;
  if (auto r = uv(n, max_count, field); !r) return r;
  // Each entry takes at least one byte: a count beyond the bytes left is a lie.
  if (n > remaining()) return invalid(fmt::format("truncated in {}", field));
  out.resize(n);
  for (auto& s : out) {
    if (auto r = str(s, max_bytes, field); !r) return r;
  }
  return {};
}

}  // namespace mtasts::tlsrpt
