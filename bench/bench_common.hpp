// Small helpers shared by the benchmark tools (socketmap_load, null_responder): a move-only
// file descriptor, a bounded netstring parser, loopback-only address parsing and a monotonic
// clock. Header-only so the tools also build with one direct g++ command (no project libs).
// Errors are reported as return values (NetstringStatus, std::optional); nothing throws
// except std::bad_alloc.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mtasts::bench {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset(o.release());
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

inline int64_t nowNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

enum class NetstringStatus { Complete, NeedMore, Invalid };

struct Netstring {
    NetstringStatus status = NetstringStatus::NeedMore;
    std::string_view payload;  // valid while the parsed buffer is unchanged
    size_t consumed = 0;       // bytes of the whole "<len>:<payload>," frame
};

// Parses one netstring at the start of `buf`. The length is overflow-checked and bounded by
// `maxLen`; a length prefix longer than 10 digits or without ':' is Invalid, not NeedMore,
// so a hostile peer cannot make us buffer forever.
inline Netstring parseNetstring(std::string_view buf, size_t maxLen) {
    Netstring out;
    size_t colon = buf.find(':');
    if (colon == std::string_view::npos) {
        out.status = buf.size() > 10 ? NetstringStatus::Invalid : NetstringStatus::NeedMore;
        return out;
    }
    if (colon == 0 || colon > 10) {
        out.status = NetstringStatus::Invalid;
        return out;
    }
    size_t len = 0;
    auto [ptr, ec] = std::from_chars(buf.data(), buf.data() + colon, len);
    if (ec != std::errc() || ptr != buf.data() + colon || len > maxLen) {
        out.status = NetstringStatus::Invalid;
        return out;
    }
    if (buf.size() < colon + 1 + len + 1) {
        return out;  // NeedMore
    }
    if (buf[colon + 1 + len] != ',') {
        out.status = NetstringStatus::Invalid;
        return out;
    }
    out.status = NetstringStatus::Complete;
    out.payload = buf.substr(colon + 1, len);
    out.consumed = colon + 1 + len + 1;
    return out;
}

inline void appendNetstring(std::string& out, std::string_view payload) {
    out += std::to_string(payload.size());
    out += ':';
    out += payload;
    out += ',';
}

// A socket address that is guaranteed to be 127.0.0.0/8 or ::1: the tools refuse anything
// else so a typo cannot aim a load test at a remote host.
struct LoopbackAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
};

inline std::optional<LoopbackAddr> parseLoopback(const std::string& host, uint16_t port) {
    LoopbackAddr a;
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
        if ((ntohl(v4.sin_addr.s_addr) >> 24) != 127) {
            return std::nullopt;
        }
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        std::memcpy(&a.ss, &v4, sizeof v4);
        a.len = sizeof v4;
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr)) {
            return std::nullopt;
        }
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        std::memcpy(&a.ss, &v6, sizeof v6);
        a.len = sizeof v6;
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

template <typename T>
std::optional<T> parseNumber(std::string_view s) {
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace mtasts::bench
