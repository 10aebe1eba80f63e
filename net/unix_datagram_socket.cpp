#include "net/unix_datagram_socket.hpp"

#include <spdlog/fmt/fmt.h>

#include <fcntl.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

namespace mtasts::net {
namespace {

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

Result<UnixDatagramSocket> UnixDatagramSocket::bind(const std::string& path, const SocketFilePermissions& permissions,
                                                    std::string_view key, int receive_buffer) {
  if (path.empty() || path.front() != '/')
    return fail(ErrorCode::InvalidInput, fmt::format("{}: needs an absolute path", key));
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return fail(ErrorCode::InvalidInput, fmt::format("{}: path too long for a unix socket", key));
  if (path.find('\0') != std::string::npos)
    return fail(ErrorCode::InvalidInput, fmt::format("{}: path contains a NUL byte", key));
  if (auto removed = removeStaleSocketFile(path, SOCK_DGRAM); !removed) return Unexpected{std::move(removed).error()};

  UnixDatagramSocket self;
  self.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (self.fd_ < 0) return fail(ErrorCode::Io, fmt::format("unix:{}: socket: {}", path, errnoText(errno)));
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  if (::bind(self.fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0)
    return fail(ErrorCode::Io, fmt::format("unix:{}: bind: {}", path, errnoText(errno)));
  self.path_ = path;  // from here on the destructor unlinks the file
  self.owns_file_ = true;
  if (auto applied = applySocketFilePermissions(path, permissions, key); !applied)
    return Unexpected{std::move(applied).error()};
  if (receive_buffer > 0) {
    // Ignored failure: the kernel caps it at net.core.rmem_max for unprivileged processes,
    // and for unix datagrams the queue length limit applies first anyway.
    (void)::setsockopt(self.fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  return self;
}

UnixDatagramSocket UnixDatagramSocket::adopt(int fd, std::string path, int receive_buffer) {
  UnixDatagramSocket self;
  self.fd_ = fd;
  self.path_ = std::move(path);
  self.owns_file_ = false;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (receive_buffer > 0) (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  return self;
}

UnixDatagramSocket::UnixDatagramSocket(UnixDatagramSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::exchange(other.path_, {})),
      owns_file_(std::exchange(other.owns_file_, false)) {}

UnixDatagramSocket& UnixDatagramSocket::operator=(UnixDatagramSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::exchange(other.path_, {});
    owns_file_ = std::exchange(other.owns_file_, false);
  }
  return *this;
}

UnixDatagramSocket::~UnixDatagramSocket() { close(); }

void UnixDatagramSocket::close() {
  if (owns_file_ && !path_.empty()) ::unlink(path_.c_str());
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  path_.clear();
  owns_file_ = false;
}

DatagramBatch::DatagramBatch(std::size_t count, std::size_t buffer_bytes)
    : buffer_bytes_(buffer_bytes),
      // new char[] without () leaves the bytes uninitialised: no page is touched here.
      storage_(new char[count * buffer_bytes]),
      iovecs_(count),
      headers_(count) {
  for (std::size_t i = 0; i < count; ++i) {
    iovecs_[i] = iovec{storage_.get() + i * buffer_bytes, buffer_bytes};
  }
}

Result<std::size_t> DatagramBatch::receive(int fd) {
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    headers_[i] = mmsghdr{};
    headers_[i].msg_hdr.msg_iov = &iovecs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = ::recvmmsg(fd, headers_.data(), static_cast<unsigned>(headers_.size()), MSG_DONTWAIT, nullptr);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return fail(ErrorCode::Io, fmt::format("recvmmsg: {}", errnoText(errno)));
  }
}

std::string_view DatagramBatch::datagram(std::size_t i) const {
  std::size_t len = headers_[i].msg_len;
  if (len > buffer_bytes_) len = buffer_bytes_;
  return {static_cast<const char*>(iovecs_[i].iov_base), len};
}

bool DatagramBatch::truncated(std::size_t i) const { return (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

Result<long> readMaxDgramQlen() {
  std::ifstream in("/proc/sys/net/unix/max_dgram_qlen");
  std::string text;
  if (!(in >> text)) return fail(ErrorCode::Io, "cannot read /proc/sys/net/unix/max_dgram_qlen");
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail(ErrorCode::Io, "unreadable /proc/sys/net/unix/max_dgram_qlen");
  return value;
}

}  // namespace mtasts::net
