// Command line of socketmap_load: the Options struct, their parser (every number checked,
// exactly one of --requests/--duration and of --domains/--count) and the domain list they
// describe. Header-only, used by one translation unit; errors come back as text in `err`.
#pragma once

#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_common.hpp"

namespace mtasts::bench {

struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    unsigned connections = 1;
    unsigned threads = 1;
    uint64_t requests = 0;
    double duration = 0;
    std::string domainsFile;
    std::string prefix = "d";
    std::string suffix = ".bench.test";
    unsigned width = 5;
    uint64_t count = 0;
    uint64_t first = 0;
    std::string map = "postfix";
    double timeout = 10;
    std::string label;
};

inline bool parseArgs(int argc, char** argv, Options& o, std::string& err) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) {
            err = "missing value for " + std::string(a);
            return false;
        }
        std::string_view v = argv[++i];
        bool ok = true;
        auto num = [&](auto& dst) {
            auto p = parseNumber<std::remove_reference_t<decltype(dst)>>(v);
            ok = p.has_value();
            if (ok) dst = *p;
        };
        if (a == "--host") o.host = v;
        else if (a == "--port") num(o.port);
        else if (a == "--connections") num(o.connections);
        else if (a == "--threads") num(o.threads);
        else if (a == "--requests") num(o.requests);
        else if (a == "--duration") num(o.duration);
        else if (a == "--domains") o.domainsFile = v;
        else if (a == "--prefix") o.prefix = v;
        else if (a == "--suffix") o.suffix = v;
        else if (a == "--width") num(o.width);
        else if (a == "--count") num(o.count);
        else if (a == "--first") num(o.first);
        else if (a == "--map") o.map = v;
        else if (a == "--timeout") num(o.timeout);
        else if (a == "--label") o.label = v;
        else { err = "unknown option " + std::string(a); return false; }
        if (!ok) { err = "bad value for " + std::string(a); return false; }
    }
    if (o.port == 0) err = "--port is required";
    else if ((o.requests > 0) == (o.duration > 0)) err = "give exactly one of --requests, --duration";
    else if (o.connections == 0 || o.connections > 10000) err = "--connections must be 1..10000";
    else if (o.threads == 0 || o.threads > o.connections) err = "--threads must be 1..connections";
    else if (o.timeout <= 0 || o.timeout > 300 || o.duration > 86400) err = "timeout/duration out of range";
    else if (o.domainsFile.empty() == (o.count == 0)) err = "give exactly one of --domains, --count";
    return err.empty();
}

inline std::vector<std::string> loadDomains(const Options& o) {
    std::vector<std::string> out;
    if (!o.domainsFile.empty()) {
        std::ifstream in(o.domainsFile);
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.size() < 256) out.push_back(line);
        }
        return out;
    }
    for (uint64_t i = o.first; i < o.first + o.count; ++i) {
        std::string n = std::to_string(i);
        if (n.size() < o.width) n.insert(0, o.width - n.size(), '0');
        out.push_back(o.prefix + n + o.suffix);
    }
    return out;
}

}  // namespace mtasts::bench
