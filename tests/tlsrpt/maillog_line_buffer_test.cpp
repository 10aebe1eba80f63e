// The line buffer alone: the same byte stream cut into reads of every size gives the same
// lines, offsets and tails; over-long lines are dropped whole.
#include "tlsrpt/maillog_line_buffer.hpp"
#include "tlsrpt/maillog_position.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace mtasts::tlsrpt;

namespace {

struct Got {
  std::vector<std::string> lines;
  std::vector<std::uint64_t> offsets;  // consumedOffset() after each line
  std::vector<std::string> tails;
};

Got feed(const std::string& stream, std::size_t max_line, std::size_t chunk, std::uint64_t start = 0,
         const std::string& history = {}) {
  MaillogLineBuffer b(max_line, chunk);
  b.reset(start, history);
  Got got;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = std::min({chunk, stream.size() - at, b.writeSpace()});
    std::memcpy(b.writePtr(), stream.data() + at, n);
    b.produced(n);
    at += n;
    std::string_view line;
    while (b.next(line)) {
      got.lines.emplace_back(line);
      got.offsets.push_back(b.consumedOffset());
      got.tails.emplace_back(b.tail());
    }
  }
  return got;
}

}  // namespace

TEST_CASE("the line buffer gives the same lines, offsets and tails for every read size") {
  std::string stream;
  for (int i = 0; i < 40; ++i) stream += "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i * 7 % 50), '.') + "\n";
  stream += std::string(300, 'L') + "\nafter\n";  // over max_line 100
  stream += "partial";
  const Got want = feed(stream, 100, stream.size());
  REQUIRE(want.lines.size() == 41);
  CHECK(want.lines.back() == "after");
  for (std::size_t i = 0; i < want.lines.size(); ++i) {
    const std::uint64_t off = want.offsets[i];
    CHECK(stream[off - 1] == '\n');
    const std::size_t n = std::min<std::size_t>(off, FilePosition::TailBytes);
    CHECK(want.tails[i] == stream.substr(off - n, n));
  }
  for (const std::size_t chunk : {1u, 2u, 5u, 17u, 99u, 100u, 101u, 256u, 1000u}) {
    CAPTURE(chunk);
    const Got got = feed(stream, 100, chunk);
    CHECK(got.lines == want.lines);
    CHECK(got.offsets == want.offsets);
    CHECK(got.tails == want.tails);
  }
}

TEST_CASE("a line of exactly max_line bytes is kept, one byte more is dropped") {
  const std::string stream = std::string(10, 'a') + "\n" + std::string(11, 'b') + "\nc\n";
  for (const std::size_t chunk : {1u, 4u, 64u}) {
    CAPTURE(chunk);
    MaillogLineBuffer probe(10, chunk);
    const Got got = feed(stream, 10, chunk);
    CHECK(got.lines == std::vector<std::string>{std::string(10, 'a'), "c"});
  }
}

TEST_CASE("reset() starts at an offset with the bytes before it as the tail") {
  const std::string history(300, 'h');
  const Got got = feed("x\ny\n", 100, 3, 5000, history);
  CHECK(got.offsets == std::vector<std::uint64_t>{5002, 5004});
  CHECK(got.tails[0] == std::string(254, 'h') + "x\n");
}
