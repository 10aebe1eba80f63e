// libFuzzer target for the stored mail-log position (tlsrpt/maillog_position.hpp): the record
// comes back from LMDB and may be damaged or written by another version. Invariants, checked
// with abort(): decoding never crashes; an accepted record is canonical (encoding what was
// decoded gives the same bytes back) and its fields are within their bounds; and any position
// built from the input's bytes survives encode + decode unchanged.
#include "tlsrpt/maillog_position.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace mtasts::tlsrpt;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

std::uint64_t take64(std::string_view& in) {
  std::uint64_t v = 0;
  const std::size_t n = in.size() < 8 ? in.size() : 8;
  std::memcpy(&v, in.data(), n);
  in.remove_prefix(n);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = decodeMaillogPosition(bytes);
  if (decoded) {
    require(encodeMaillogPosition(*decoded) == bytes);
    if (const auto* j = std::get_if<JournalPosition>(&*decoded)) {
      require(!j->cursor.empty() && j->cursor.size() <= JournalPosition::MaxCursor);
    }
    require(!describeMaillogPosition(*decoded).empty());
  } else {
    require(!decoded.error().detail.empty());
  }
  // The other direction: positions made from the input round-trip.
  std::string_view rest = bytes;
  const FilePosition f{take64(rest), take64(rest), take64(rest), take64(rest), take64(rest)};
  const auto back = decodeMaillogPosition(encodeMaillogPosition(f));
  require(back && std::get<FilePosition>(*back) == f);
  std::string cursor;
  for (const char c : bytes.substr(0, JournalPosition::MaxCursor)) {
    if (c > 0x20 && c < 0x7f) cursor.push_back(c);
  }
  if (!cursor.empty()) {
    const auto j = decodeMaillogPosition(encodeMaillogPosition(JournalPosition{cursor}));
    require(j && std::get<JournalPosition>(*j).cursor == cursor);
  }
  return 0;
}
