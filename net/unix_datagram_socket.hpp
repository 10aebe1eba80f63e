// A unix datagram socket bound at a path (the TLS-RPT drop-in for Postfix's
// smtp_tlsrpt_socket_name), and batched receiving with recvmmsg into preallocated buffers.
// UnixDatagramSocket owns the fd (non-blocking, close-on-exec) and the socket file: a stale
// file is replaced at bind, the file is unlinked on destruction. DatagramBatch is used by
// one thread at a time (the collector's reader thread). Errors: Result with the path.
#pragma once

#include "common/result.hpp"
#include "net/unix_socket_file.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::net {

class UnixDatagramSocket {
 public:
  // socket(AF_UNIX, SOCK_DGRAM), bind, chown/chmod (`key` names the configuration keys in
  // errors), then SO_RCVBUF raised towards receive_buffer (best effort: on Linux the queue of
  // a unix datagram socket is bounded by net.unix.max_dgram_qlen, read when the socket is
  // created, not by its buffer).
  static Result<UnixDatagramSocket> bind(const std::string& path, const SocketFilePermissions& permissions,
                                         std::string_view key, int receive_buffer = 1 << 20);
  // A socket bound by someone else (systemd's mtastsd-tlsrpt.socket, passed to the daemon:
  // Runtime::takeInheritedSocket(SocketKind::Datagram, path)): made non-blocking, its
  // receive buffer raised as bind() does, and its file never chmod'ed, chown'ed or unlinked
  // (its owner removes it). `path` is for path() and logs.
  static UnixDatagramSocket adopt(int fd, std::string path, int receive_buffer = 1 << 20);
  UnixDatagramSocket() = default;
  UnixDatagramSocket(UnixDatagramSocket&& other) noexcept;
  UnixDatagramSocket& operator=(UnixDatagramSocket&& other) noexcept;
  UnixDatagramSocket(const UnixDatagramSocket&) = delete;
  UnixDatagramSocket& operator=(const UnixDatagramSocket&) = delete;
  ~UnixDatagramSocket();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  void close();
  int fd_ = -1;
  std::string path_;
  bool owns_file_ = false;  // bind(): the destructor unlinks path_; adopt(): not
};

// `count` receive buffers of `buffer_bytes` each, filled by one recvmmsg. The buffers are
// allocated once and never initialised: the kernel writes only the bytes of the datagrams,
// so resident memory is the pages actually written (a 600-byte datagram touches one page),
// not count x buffer_bytes.
class DatagramBatch {
 public:
  DatagramBatch(std::size_t count, std::size_t buffer_bytes);

  // Receives up to count() datagrams that are already queued (MSG_DONTWAIT). Returns how
  // many (0 when none is waiting); EINTR is retried; other errors are Io.
  Result<std::size_t> receive(int fd);

  std::size_t count() const { return headers_.size(); }
  std::size_t bufferBytes() const { return buffer_bytes_; }
  // The i-th datagram of the last receive(); when truncated(i) it was longer than
  // bufferBytes() and only its first bufferBytes() bytes are here.
  std::string_view datagram(std::size_t i) const;
  bool truncated(std::size_t i) const;

 private:
  std::size_t buffer_bytes_;
  std::unique_ptr<char[]> storage_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
};

// net.unix.max_dgram_qlen of this network namespace (/proc/sys/net/unix/max_dgram_qlen): how
// many datagrams the kernel queues for a receiver whose socket is created from now on. Io
// when it cannot be read.
Result<long> readMaxDgramQlen();

}  // namespace mtasts::net
