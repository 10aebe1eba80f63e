// Cost of normalizePolicyKey() per key, the first step of every socketmap lookup: a small
// benchmark, not a test (built on demand: `cmake --build build --target normalize_key_bench`).
// ASCII keys must not pay for IDNA support; the UTF-8 rows show what the libidn2 path costs.
// Prints ns per key, best of several rounds, for each kind of key.
#include "postfix/socketmap.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

double nsPerKey(const std::vector<std::string>& keys, int rounds, std::size_t& sink) {
  double best = 1e18;
  for (int r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& k : keys) sink += mtasts::postfix::normalizePolicyKey(k).length;
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count() / static_cast<double>(keys.size()));
  }
  return best;
}

std::vector<std::string> repeat(std::initializer_list<const char*> keys, std::size_t n) {
  std::vector<std::string> out;
  while (out.size() < n) {
    for (const char* k : keys) out.emplace_back(k);
  }
  return out;
}

}  // namespace

int main() {
  std::size_t sink = 0;
  const std::size_t n = 200'000;
  const struct { const char* name; std::vector<std::string> keys; int rounds; } rows[] = {
      {"ascii valid", repeat({"example.com", "GOOD.Test", "mx1.mail.example.org", "[relay.example.net]:25",
                              "xn--bcher-kva.example", "a-rather-long-subdomain.of.some.example.co.uk."}, n), 15},
      {"ascii skipped", repeat({".example.com", "[192.0.2.1]:25", "-bad-.test", "2001:db8::1"}, n), 15},
      {"utf8 valid", repeat({"b\xc3\xbc" "cher.example", "\xe4\xb8\xad\xe6\x96\x87.example"}, n / 20), 5},
      {"utf8 invalid", repeat({"\xf0\x9f\x92\xa9.example", "\xc3\x28.example"}, n / 20), 5},
  };
  for (const auto& row : rows) {
    std::printf("%-14s %8.1f ns/key\n", row.name, nsPerKey(row.keys, row.rounds, sink));
  }
  return sink == 0 ? 1 : 0;
}
