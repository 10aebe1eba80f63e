// RAII owners for C library handles (libevent, OpenSSL): std::unique_ptr with a functor
// deleter, so the pointer stays one word and the free function is fixed at compile time
// (why not decltype(&free): a function-pointer deleter doubles the size and can be null).
// UniqueFd owns one file descriptor: whoever holds it closes it, exactly once.
// Single-threaded like the event loop they belong to; no error reporting (frees only).
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <memory>
#include <utility>

namespace mtasts::net {

template <auto Fn>
struct CDeleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Fn(p);
  }
};

template <typename T, auto Fn>
using CHandle = std::unique_ptr<T, CDeleter<Fn>>;

using EventBasePtr = CHandle<event_base, &event_base_free>;
using EventPtr = CHandle<event, &event_free>;
using BufferEventPtr = CHandle<bufferevent, &bufferevent_free>;
using SslCtxPtr = CHandle<SSL_CTX, &SSL_CTX_free>;
using SslPtr = CHandle<SSL, &SSL_free>;

// A move-only file descriptor (PowerDNS's FDWrapper idea): handing it over by value makes
// the transfer of ownership visible, so no path closes a descriptor twice.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it (to an owner that closes it itself).
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace mtasts::net
