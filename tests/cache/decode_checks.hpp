// decode_checks: the refusal checks the record codec tests share (doctest assertions), so
// each table only lists its inputs and the reason it expects.
#pragma once

#include "cache/record_codec.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace mtasts::cache::test {

// decodeRecord refuses `bytes` as InvalidInput and its detail contains `reason`.
inline void checkDecodeRefused(std::string_view bytes, std::string_view reason) {
  PolicyRecord out;
  auto decoded = decodeRecord(bytes, out);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == ErrorCode::InvalidInput);
  CHECK_MESSAGE(decoded.error().detail.find(reason) != std::string::npos, "got: ", decoded.error().detail,
                " want: ", reason);
}

// Every proper prefix of `bytes` is refused with a reason that names the record.
inline void checkEveryTruncationRefused(std::string_view bytes) {
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    CAPTURE(len);
    checkDecodeRefused(bytes.substr(0, len), "record");
  }
}

}  // namespace mtasts::cache::test
