// socketmap_load: a closed-loop load generator that speaks Postfix's socketmap protocol the
// way Postfix's smtp(8) processes do: C persistent connections, each with exactly ONE request
// outstanding ("<len>:postfix <domain>,"), the next sent as soon as the reply arrives.
// Each thread owns an epoll loop and its share of the connections; results are merged and
// printed as one JSON object on stdout. Every wait is bounded (--timeout per request, a
// SIGALRM watchdog for the whole run); it only connects to 127.0.0.0/8 or ::1.
//
//   socketmap_load --port P [--host 127.0.0.1] [--connections C] [--threads T]
//       (--requests N | --duration S)
//       (--domains FILE | --count N [--prefix d] [--width 5] [--suffix .bench.test] [--first K])
//       [--map postfix] [--timeout 10] [--label TEXT]
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "load_options.hpp"

namespace {

using namespace mtasts::bench;

constexpr size_t MaxReply = 100000;

struct Shared {
    const Options* opt = nullptr;
    std::vector<std::string> requests;  // pre-encoded netstrings, one per domain
    std::atomic<uint64_t> next{0};
    int64_t deadlineNs = 0;  // duration mode: no new request after this
};

struct Stats {
    uint64_t done = 0;
    uint64_t errors = 0;
    std::map<std::string, uint64_t> classes;
    std::map<std::string, std::string> samples;  // first reply seen per class
    std::map<std::string, uint64_t> errorKinds;
    std::vector<uint32_t> latency10ns;  // units of 10 ns: 42 s range, beyond any timeout
    int64_t endNs = 0;
};

struct Conn {
    Fd fd;
    std::string out;
    std::string in;
    int64_t sentAt = 0;
    bool busy = false;
};

int usage(const char* why) {
    std::fprintf(stderr, "socketmap_load: %s\n(see the header of bench/socketmap_load.cpp)\n", why);
    return 2;
}

// Non-blocking connect bounded by timeoutMs; the socket stays non-blocking.
Fd connectTo(const LoopbackAddr& a, int timeoutMs, std::string& err) {
    Fd fd(::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        err = std::strerror(errno);
        return {};
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0) {
        if (errno != EINPROGRESS) {
            err = std::strerror(errno);
            return {};
        }
        pollfd p{fd.get(), POLLOUT, 0};
        if (::poll(&p, 1, timeoutMs) != 1) {
            err = "connect timeout";
            return {};
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
            err = std::strerror(soerr);
            return {};
        }
    }
    return fd;
}

class Worker {
public:
    Worker(Shared& sh, std::vector<Conn> conns) : sh_(sh), conns_(std::move(conns)) {}

    void run() {
        ep_.reset(epoll_create1(EPOLL_CLOEXEC));
        live_ = static_cast<int>(conns_.size());  // connections still open
        for (size_t i = 0; i < conns_.size(); ++i) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = i;
            epoll_ctl(ep_.get(), EPOLL_CTL_ADD, conns_[i].fd.get(), &ev);
            if (!sendNext(conns_[i]) && conns_[i].fd) {
                closeConn(conns_[i]);
            }
        }
        const int64_t timeoutNs = static_cast<int64_t>(sh_.opt->timeout * 1e9);
        epoll_event events[256];
        int64_t lastScan = nowNs();
        while (live_ > 0) {
            int n = epoll_wait(ep_.get(), events, 256, 100);
            int64_t now = nowNs();
            for (int i = 0; i < n; ++i) {
                Conn& c = conns_[events[i].data.u64];
                if (c.fd && !onEvent(c, events[i].events, now)) {
                    drop(c, "connection");
                }
            }
            if (now - lastScan > 100'000'000) {
                lastScan = now;
                for (Conn& c : conns_) {
                    if (c.fd && c.busy && now - c.sentAt > timeoutNs) {
                        drop(c, "timeout");
                    }
                }
            }
        }
        stats.endNs = nowNs();
    }

    Stats stats;

private:
    // Claims the next request; false when the budget or the time is used up.
    bool sendNext(Conn& c) {
        const Options& o = *sh_.opt;
        if (o.duration > 0 && nowNs() >= sh_.deadlineNs) {
            return false;
        }
        uint64_t i = sh_.next.fetch_add(1, std::memory_order_relaxed);
        if (o.requests > 0 && i >= o.requests) {
            return false;
        }
        c.out = sh_.requests[i % sh_.requests.size()];
        c.busy = true;
        c.sentAt = nowNs();
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            drop(c, "send");
            return false;  // drop() closed the connection
        }
        c.out.erase(0, n < 0 ? 0 : static_cast<size_t>(n));
        if (!c.out.empty()) {
            setWrite(c, true);
        }
        return true;
    }

    void setWrite(Conn& c, bool on) {
        epoll_event ev{};
        ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
        ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
        epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    }

    bool onEvent(Conn& c, uint32_t events, int64_t now) {
        if ((events & EPOLLOUT) && !c.out.empty()) {
            ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                return false;
            }
            c.out.erase(0, n < 0 ? 0 : static_cast<size_t>(n));
            if (c.out.empty()) {
                setWrite(c, false);
            }
        }
        if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
            return true;
        }
        char buf[8192];
        ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true;
        }
        if (n <= 0) {
            return false;
        }
        c.in.append(buf, static_cast<size_t>(n));
        Netstring ns = parseNetstring(c.in, MaxReply);
        if (ns.status == NetstringStatus::NeedMore) {
            return true;
        }
        if (ns.status == NetstringStatus::Invalid || !c.busy || ns.consumed != c.in.size()) {
            return false;  // garbage, an unsolicited reply, or more than one reply
        }
        record(ns.payload, now - c.sentAt);
        c.in.clear();
        c.busy = false;
        if (!sendNext(c) && c.fd) {
            closeConn(c);
        }
        return true;
    }

    void record(std::string_view payload, int64_t latNs) {
        std::string cls(payload.substr(0, payload.find(' ')));
        if (cls.empty() || cls.size() > 16) {
            cls = "other";
        }
        if (++stats.classes[cls] == 1) {
            stats.samples[cls] = std::string(payload.substr(0, 200));
        }
        ++stats.done;
        stats.latency10ns.push_back(static_cast<uint32_t>(std::min<int64_t>(latNs / 10, UINT32_MAX)));
    }

    void closeConn(Conn& c) {
        epoll_ctl(ep_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
        c.fd.reset();
        --live_;
    }

    void drop(Conn& c, const char* why) {
        if (c.busy) {
            ++stats.errors;
            ++stats.errorKinds[why];
        }
        c.busy = false;
        closeConn(c);
    }

    Shared& sh_;
    std::vector<Conn> conns_;
    Fd ep_;
    int live_ = 0;
};

double cpuSeconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string jsonEscape(std::string_view s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') { out += '\\'; out += ch; }
        else if (static_cast<unsigned char>(ch) < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", ch); out += b; }
        else out += ch;
    }
    return out;
}

// Appends piecewise: g++ 12's -Wrestrict misfires on `"literal" + std::string&&`.
template <typename M>
std::string jsonMap(const M& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) {
        if (out.size() > 1) out += ", ";
        out += '"';
        out += jsonEscape(k);
        out += "\": ";
        if constexpr (std::is_same_v<typename M::mapped_type, std::string>) {
            out += '"';
            out += jsonEscape(v);
            out += '"';
        } else {
            out += std::to_string(v);
        }
    }
    out += '}';
    return out;
}

double percentileUs(std::vector<uint32_t>& v, double p) {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k] / 100.0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string err;
    if (!parseArgs(argc, argv, o, err)) return usage(err.c_str());
    auto addr = parseLoopback(o.host, o.port);
    if (!addr) return usage("--host must be a 127.0.0.0/8 or ::1 address");
    signal(SIGPIPE, SIG_IGN);
    // Watchdog: whatever happens, the process ends (SIGALRM's default action terminates).
    double bound = (o.duration > 0 ? o.duration : 3600) + o.timeout + 30;
    alarm(static_cast<unsigned>(std::min(bound, 86400.0 + 600)));

    Shared sh;
    sh.opt = &o;
    for (const std::string& d : loadDomains(o)) {
        std::string ns;
        appendNetstring(ns, o.map + " " + d);
        sh.requests.push_back(std::move(ns));
    }
    if (sh.requests.empty()) return usage("no domains");

    std::vector<std::vector<Conn>> perThread(o.threads);
    for (unsigned i = 0; i < o.connections; ++i) {
        std::string cerr;
        Fd fd = connectTo(*addr, static_cast<int>(o.timeout * 1000), cerr);
        if (!fd) {
            std::fprintf(stderr, "socketmap_load: connect %s:%u: %s\n", o.host.c_str(), o.port, cerr.c_str());
            return 1;
        }
        Conn c;
        c.fd = std::move(fd);
        perThread[i % o.threads].push_back(std::move(c));
    }
    std::vector<Worker> workers;
    workers.reserve(o.threads);
    for (auto& conns : perThread) workers.emplace_back(sh, std::move(conns));

    double cpu0 = cpuSeconds();
    int64_t t0 = nowNs();
    sh.deadlineNs = t0 + static_cast<int64_t>(o.duration * 1e9);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < workers.size(); ++i) threads.emplace_back([&w = workers[i]] { w.run(); });
    workers[0].run();
    for (auto& t : threads) t.join();
    double cpu = cpuSeconds() - cpu0;

    Stats all;
    for (Worker& w : workers) {
        all.done += w.stats.done;
        all.errors += w.stats.errors;
        all.endNs = std::max(all.endNs, w.stats.endNs);
        for (auto& [k, v] : w.stats.classes) all.classes[k] += v;
        for (auto& [k, v] : w.stats.errorKinds) all.errorKinds[k] += v;
        for (auto& [k, v] : w.stats.samples) all.samples.emplace(k, v);
        all.latency10ns.insert(all.latency10ns.end(), w.stats.latency10ns.begin(), w.stats.latency10ns.end());
    }
    double elapsed = static_cast<double>(all.endNs - t0) / 1e9;
    double maxUs = all.latency10ns.empty() ? 0 : *std::max_element(all.latency10ns.begin(), all.latency10ns.end()) / 100.0;
    double p50 = percentileUs(all.latency10ns, 0.50);
    double p90 = percentileUs(all.latency10ns, 0.90);
    double p99 = percentileUs(all.latency10ns, 0.99);
    std::printf("{\"label\": \"%s\", \"connections\": %u, \"threads\": %u, \"requests\": %llu, "
                "\"errors\": %llu, \"error_kinds\": %s, \"replies\": %s, \"samples\": %s, "
                "\"elapsed_s\": %.4f, \"lookups_per_s\": %.1f, "
                "\"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"max\": %.2f}, "
                "\"cpu_s\": %.4f, \"cpu_us_per_lookup\": %.3f}\n",
                jsonEscape(o.label).c_str(), o.connections, o.threads,
                static_cast<unsigned long long>(all.done), static_cast<unsigned long long>(all.errors),
                jsonMap(all.errorKinds).c_str(), jsonMap(all.classes).c_str(),
                jsonMap(all.samples).c_str(), elapsed,
                elapsed > 0 ? static_cast<double>(all.done) / elapsed : 0.0, p50, p90, p99, maxUs, cpu,
                all.done ? cpu * 1e6 / static_cast<double>(all.done) : 0.0);
    return all.errors > 0 ? 3 : 0;
}
