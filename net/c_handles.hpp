// RAII owners for C library handles (libevent, OpenSSL): std::unique_ptr with a functor
// deleter, so the pointer stays one word and the free function is fixed at compile time
// (why not decltype(&free): a function-pointer deleter doubles the size and can be null).
// Single-threaded like the event loop they belong to; no error reporting (frees only).
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include <memory>

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

}  // namespace mtasts::net
