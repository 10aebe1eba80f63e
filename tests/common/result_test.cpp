#include "common/result.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts;

namespace {
Result<int> half(int v) {
  if (v % 2 != 0) return fail(ErrorCode::InvalidInput, "odd");
  return v / 2;
}
}  // namespace

TEST_CASE("Result carries a value or an error") {
  auto ok = half(4);
  REQUIRE(ok.has_value());
  CHECK(*ok == 2);
  auto bad = half(3);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::InvalidInput);
  CHECK(bad.error().detail == "odd");
  CHECK(bad.value_or(7) == 7);
  Result<void> v;
  CHECK(v.has_value());
  Result<void> e = fail(ErrorCode::Io, "disk");
  CHECK_FALSE(e);
  CHECK(std::string(errorCodeName(e.error().code)) == "io");
  Result<std::string> s = std::string("x");
  CHECK(s->size() == 1);
}
