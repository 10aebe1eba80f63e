#include "tlsrpt/gzip.hpp"

#include <spdlog/fmt/fmt.h>
#include <zlib.h>

#include <cstring>

namespace mtasts::tlsrpt {
namespace {

constexpr int GzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper only
constexpr int OsUnix = 3;                // RFC 1952 2.3.1 OS field

unsigned char* bytesOf(std::string_view s) {
  // zlib's next_in is not const-qualified but is never written through.
  return reinterpret_cast<unsigned char*>(const_cast<char*>(s.data()));
}

}  // namespace

Result<std::string> gzipCompress(std::string_view data) {
  if (data.size() > MaxGzipInput) {
    return fail(ErrorCode::TooLarge, fmt::format("{} bytes to compress, at most {}", data.size(),
                                                 MaxGzipInput));
  }
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 9, Z_DEFLATED, GzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(ErrorCode::Internal, "deflateInit2 failed");
  }
  gz_header header;
  std::memset(&header, 0, sizeof header);
  header.time = 0;  // MTIME 0: "no time stamp is available" (RFC 1952), and reproducible
  header.os = OsUnix;
  if (deflateSetHeader(&zs, &header) != Z_OK) {
    deflateEnd(&zs);
    return fail(ErrorCode::Internal, "deflateSetHeader failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = bytesOf(data);
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return fail(ErrorCode::Internal, fmt::format("deflate returned {}", rc));
  out.resize(produced);
  return out;
}

Result<std::string> gzipDecompressFirstMember(std::string_view gz, std::size_t max_output,
                                              std::size_t* consumed) {
  if (gz.size() > MaxGzipInput) {
    return fail(ErrorCode::TooLarge, fmt::format("{} bytes of gzip, at most {}", gz.size(),
                                                 MaxGzipInput));
  }
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, GzipWindowBits) != Z_OK) return fail(ErrorCode::Internal, "inflateInit2 failed");
  zs.next_in = bytesOf(gz);
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<unsigned char*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t got = sizeof buf - zs.avail_out;
    if (out.size() + got > max_output) {
      inflateEnd(&zs);
      return fail(ErrorCode::TooLarge, fmt::format("gzip expands past {} bytes", max_output));
    }
    out.append(buf, got);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended early
  }
  if (consumed != nullptr) *consumed = gz.size() - zs.avail_in;
  const std::string why = zs.msg != nullptr ? zs.msg : "truncated";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return fail(ErrorCode::InvalidInput, fmt::format("not a complete gzip stream ({})", why));
  }
  return out;
}

Result<std::string> gzipDecompress(std::string_view gz, std::size_t max_output) {
  std::size_t consumed = 0;
  auto out = gzipDecompressFirstMember(gz, max_output, &consumed);
  if (out && consumed != gz.size()) return fail(ErrorCode::InvalidInput, "bytes after the gzip stream");
  return out;
}

}  // namespace mtasts::tlsrpt
