#include "tlsrpt/maillog_position.hpp"

#include <algorithm>

#include "common/varint.hpp"

namespace mtasts::tlsrpt {

namespace {

constexpr std::uint8_t KindNone = 0;
constexpr std::uint8_t KindFile = 1;
constexpr std::uint8_t KindJournal = 2;

// Reads one canonical varint; false on truncation, bits beyond 64, or an overlong spelling
// (so that every accepted record re-encodes to the same bytes).
bool getVarint(std::string_view& in, std::uint64_t& out) {
  const VarintRead r = readVarint(in, 0);
  in.remove_prefix(r.next);
  out = r.value;
  return r.status == VarintStatus::Ok;
}

void putFixed64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t getFixed64(std::string_view& in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in[i])} << (8 * i);
  in.remove_prefix(8);
  return v;
}

bool printableCursor(std::string_view cursor) {
  return std::all_of(cursor.begin(), cursor.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::uint64_t tailHash(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

FilePosition filePositionAt(std::uint64_t device, std::uint64_t inode, std::uint64_t offset,
                            std::string_view head, std::string_view tail) noexcept {
  FilePosition p{device, inode, offset, 0, 0};
  const std::size_t n = p.hashLength();
  p.head_hash = tailHash(head.substr(0, std::min(n, head.size())));
  p.tail_hash = tailHash(tail.substr(tail.size() - std::min(n, tail.size())));
  return p;
}

std::string encodeMaillogPosition(const MaillogPosition& position) {
  std::string out;
  out.push_back(static_cast<char>(MaillogPositionVersion));
  if (const auto* f = std::get_if<FilePosition>(&position)) {
    out.push_back(static_cast<char>(KindFile));
    appendVarint(out, f->device);
    appendVarint(out, f->inode);
    appendVarint(out, f->offset);
    putFixed64(out, f->head_hash);
    putFixed64(out, f->tail_hash);
  } else if (const auto* j = std::get_if<JournalPosition>(&position)) {
    out.push_back(static_cast<char>(KindJournal));
    appendVarint(out, j->cursor.size());
    out += j->cursor;
  } else {
    out.push_back(static_cast<char>(KindNone));
  }
  return out;
}

Result<MaillogPosition> decodeMaillogPosition(std::string_view in) {
  if (in.size() < 2) return fail(ErrorCode::InvalidInput, "mail-log position: truncated header");
  const auto version = static_cast<std::uint8_t>(in[0]);
  if (version == 0) return fail(ErrorCode::InvalidInput, "mail-log position: version 0");
  if (version > MaillogPositionVersion) {
    return fail(ErrorCode::InvalidInput,
                "mail-log position: version " + std::to_string(version) + " is newer than this mtastsd");
  }
  const auto kind = static_cast<std::uint8_t>(in[1]);
  in.remove_prefix(2);
  MaillogPosition out;
  if (kind == KindNone) {
    out = std::monostate{};
  } else if (kind == KindFile) {
    FilePosition f;
    if (!getVarint(in, f.device) || !getVarint(in, f.inode) || !getVarint(in, f.offset) || in.size() < 16) {
      return fail(ErrorCode::InvalidInput, "mail-log position: truncated file position");
    }
    f.head_hash = getFixed64(in);
    f.tail_hash = getFixed64(in);
    out = f;
  } else if (kind == KindJournal) {
    std::uint64_t length = 0;
    if (!getVarint(in, length)) return fail(ErrorCode::InvalidInput, "mail-log position: truncated cursor length");
    if (length == 0 || length > JournalPosition::MaxCursor || length > in.size()) {
      return fail(ErrorCode::InvalidInput, "mail-log position: bad cursor length");
    }
    JournalPosition j{std::string(in.substr(0, static_cast<std::size_t>(length)))};
    in.remove_prefix(static_cast<std::size_t>(length));
    if (!printableCursor(j.cursor)) return fail(ErrorCode::InvalidInput, "mail-log position: cursor not printable");
    out = std::move(j);
  } else {
    return fail(ErrorCode::InvalidInput, "mail-log position: unknown kind " + std::to_string(kind));
  }
  if (!in.empty()) return fail(ErrorCode::InvalidInput, "mail-log position: trailing bytes");
  return out;
}

std::string describeMaillogPosition(const MaillogPosition& position) {
  if (const auto* f = std::get_if<FilePosition>(&position)) {
    return "file dev=" + std::to_string(f->device) + " ino=" + std::to_string(f->inode) +
           " offset=" + std::to_string(f->offset);
  }
  if (const auto* j = std::get_if<JournalPosition>(&position)) return "journal cursor=" + j->cursor;
  return "none";
}

}  // namespace mtasts::tlsrpt
