#include "common/log.hpp"

#include <doctest/doctest.h>

using namespace mtasts;

TEST_CASE("escapeForLog keeps printable ASCII and escapes the rest") {
  CHECK(escapeForLog("example.com") == "example.com");
  CHECK(escapeForLog("a\nb") == "a\\x0ab");
  CHECK(escapeForLog("q\"b\\") == "q\\\"b\\\\");
  CHECK(escapeForLog(std::string("\0\xff", 2)) == "\\x00\\xff");
  CHECK(escapeForLog("abcdef", 3) == "abc...");
}

TEST_CASE("setLogLevel accepts spdlog level names and refuses others") {
  CHECK(setLogLevel("debug"));
  CHECK(moduleLogger("test")->level() == spdlog::level::debug);
  CHECK(setLogLevel("off"));
  CHECK_FALSE(setLogLevel("loud"));
  CHECK(setLogLevel("info"));
  CHECK(moduleLogger("test")->level() == spdlog::level::info);
}
