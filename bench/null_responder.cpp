// null_responder: a do-nothing socketmap server for the benchmark's floor. One thread, one
// epoll loop; every complete netstring request is answered at once with the same fixed
// reply, so its CPU per lookup is what the kernel's loopback and a minimal event loop cost.
// Listens on loopback only; prints "READY <port>" on stdout once bound. A malformed request
// closes that connection; the process ends on SIGTERM/SIGINT.
//
//   null_responder [--host 127.0.0.1] [--port 0] [--reply "OK secure ..."]
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "bench_common.hpp"

namespace {

using namespace mtasts::bench;

constexpr size_t MaxRequest = 10000;
volatile sig_atomic_t g_stop = 0;

struct Conn {
    Fd fd;
    std::string in;
    std::string out;
    bool wantWrite = false;
};

void onSignal(int) { g_stop = 1; }

int usage() {
    std::fprintf(stderr, "usage: null_responder [--host ADDR] [--port N] [--reply TEXT]\n");
    return 2;
}

// Writes as much of c.out as the socket takes; returns false when the connection failed.
bool flush(int ep, Conn& c) {
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                return false;
            }
            break;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    bool want = !c.out.empty();
    if (want != c.wantWrite) {
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.fd = c.fd.get();
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd.get(), &ev);
        c.wantWrite = want;
    }
    return true;
}

// Reads what is there and answers every complete request; false = close the connection.
bool onReadable(int ep, Conn& c, const std::string& reply) {
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n == 0) {
            return false;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                break;
            }
            return false;
        }
        c.in.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) {
            break;
        }
    }
    size_t pos = 0;
    for (;;) {
        Netstring ns = parseNetstring(std::string_view(c.in).substr(pos), MaxRequest);
        if (ns.status == NetstringStatus::Invalid) {
            return false;
        }
        if (ns.status == NetstringStatus::NeedMore) {
            break;
        }
        c.out += reply;
        pos += ns.consumed;
    }
    c.in.erase(0, pos);
    return flush(ep, c);
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string replyText = "OK secure match=mx.example.com servername=hostname";
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) {
            return usage();
        }
        if (a == "--host") {
            host = argv[++i];
        } else if (a == "--port") {
            auto p = parseNumber<uint16_t>(argv[++i]);
            if (!p) {
                return usage();
            }
            port = *p;
        } else if (a == "--reply") {
            replyText = argv[++i];
        } else {
            return usage();
        }
    }
    auto addr = parseLoopback(host, port);
    if (!addr) {
        std::fprintf(stderr, "null_responder: %s is not a loopback address\n", host.c_str());
        return 2;
    }
    std::string reply;
    appendNetstring(reply, replyText);

    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Fd lfd(::socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(lfd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!lfd || ::bind(lfd.get(), reinterpret_cast<sockaddr*>(&addr->ss), addr->len) != 0 ||
        ::listen(lfd.get(), 1024) != 0) {
        std::perror("null_responder: bind/listen");
        return 1;
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
    uint16_t boundPort = ntohs(bound.ss_family == AF_INET6
                                   ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                   : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.fd = lfd.get();
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, lfd.get(), &lev);
    std::printf("READY %u\n", boundPort);
    std::fflush(stdout);

    std::unordered_map<int, Conn> conns;
    epoll_event events[256];
    while (!g_stop) {
        int n = epoll_wait(ep.get(), events, 256, 500);
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == lfd.get()) {
                for (;;) {
                    int cfd = ::accept4(lfd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) {
                        break;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.fd = cfd;
                    epoll_ctl(ep.get(), EPOLL_CTL_ADD, cfd, &ev);
                    conns[cfd].fd.reset(cfd);
                }
                continue;
            }
            auto it = conns.find(fd);
            if (it == conns.end()) {
                continue;
            }
            bool ok = true;
            if (events[i].events & (EPOLLERR | EPOLLHUP)) {
                ok = false;
            }
            if (ok && (events[i].events & EPOLLOUT)) {
                ok = flush(ep.get(), it->second);
            }
            if (ok && (events[i].events & EPOLLIN)) {
                ok = onReadable(ep.get(), it->second, reply);
            }
            if (!ok) {
                epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
                conns.erase(it);
            }
        }
    }
    return 0;
}
