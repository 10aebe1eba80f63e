// Helpers shared by the tlsrpt unit tests: reading fixtures and golden files (the sample
// report they are made from is in sample_report.hpp). MTASTS_UPDATE_GOLDEN=1 rewrites a
// golden file from what the code produced (then review the diff by eye before committing).
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/tlsrpt/sample_report.hpp"

namespace mtasts::tlsrpt::test {

inline std::string readFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(file != nullptr, "cannot open ", path);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) out.append(buf, n);
  std::fclose(file);
  return out;
}

inline std::string goldenPath(const std::string& name) {
  return std::string(MTASTS_GOLDEN_DIR) + "/" + name;
}

inline std::string fixturePath(const std::string& name) {
  return std::string(MTASTS_FIXTURE_DIR) + "/" + name;
}

// Compares got with the golden file byte for byte.
inline void checkGolden(const std::string& name, const std::string& got) {
  const char* update = std::getenv("MTASTS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(goldenPath(name), std::ios::binary) << got;
    MESSAGE("rewrote golden file ", name);
  }
  const std::string want = readFile(goldenPath(name));
  CAPTURE(name);
  CHECK(got == want);
}

}  // namespace mtasts::tlsrpt::test
