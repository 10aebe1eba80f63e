// The streaming mbox splitter: where mails start, what is unquoted, and that the result does
// not depend on how the stream is cut into chunks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tlsrpt/mbox_splitter.hpp"

namespace mtasts::tlsrpt {
namespace {

std::vector<MboxMail> split(std::string_view stream, std::size_t chunk, std::size_t max_mail = 1 << 20,
                            std::size_t* leading = nullptr) {
  std::vector<MboxMail> mails;
  MboxSplitter splitter(max_mail, [&](MboxMail&& m) { mails.push_back(std::move(m)); });
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) splitter.feed(stream.substr(pos, chunk));
  splitter.finish();
  if (leading != nullptr) *leading = splitter.leadingBytes();
  return mails;
}

const std::string Mbox =
    "From alice@example.net Sat Nov 28 12:00:00 2026\n"
    "Subject: one\n"
    "\n"
    "body one\n"
    ">From quoted once\n"
    ">>From quoted twice\n"
    "From not after an empty line stays\n"
    ">not a From line\n"
    "\n"
    "From bob@example.net Sat Nov 28 13:00:00 2026\n"
    "Subject: two\n"
    "\n"
    "body two ends with an empty line\n"
    "\n"
    "\n"
    "From carol@example.net Sat Nov 28 14:00:00 2026\n"
    "Subject: three\n"
    "\n"
    "no final newline";

TEST_CASE("an mbox splits at From_ lines after empty lines, with mboxrd quoting undone") {
  const auto mails = split(Mbox, Mbox.size());
  REQUIRE(mails.size() == 3);
  CHECK(mails[0].index == 1);
  CHECK(mails[0].line == 1);
  CHECK(mails[0].text ==
        "Subject: one\n\nbody one\nFrom quoted once\n>From quoted twice\nFrom not after an empty line stays\n"
        ">not a From line\n");
  CHECK(mails[1].line == 10);
  CHECK(mails[1].text == "Subject: two\n\nbody two ends with an empty line\n\n");
  CHECK(mails[2].line == 16);
  CHECK(mails[2].text == "Subject: three\n\nno final newline");
  CHECK_FALSE(mails[2].cut);
  CHECK(mails[2].size == mails[2].text.size());
}

TEST_CASE("the mails do not depend on the chunk size") {
  const auto whole = split(Mbox, Mbox.size());
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u}) {
    CAPTURE(chunk);
    const auto mails = split(Mbox, chunk);
    REQUIRE(mails.size() == whole.size());
    for (std::size_t i = 0; i < mails.size(); ++i) {
      CHECK(mails[i].text == whole[i].text);
      CHECK(mails[i].line == whole[i].line);
    }
  }
}

TEST_CASE("CRLF mboxes keep their line ends and still split") {
  const std::string crlf = "From a@b Sat\r\nSubject: x\r\n\r\nbody\r\n\r\nFrom c@d Sat\r\nSubject: y\r\n";
  const auto mails = split(crlf, 5);
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].text == "Subject: x\r\n\r\nbody\r\n");
  CHECK(mails[1].text == "Subject: y\r\n");
}

TEST_CASE("bytes before the first From_ line are counted, not taken as a mail") {
  std::size_t leading = 0;
  const auto mails = split("garbage\nmore\n\nFrom a@b x\nS: 1\n", 4, 1 << 20, &leading);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].text == "S: 1\n");
  CHECK(leading == 14);
  CHECK(split("no mbox at all\n", 3).empty());
}

TEST_CASE("a mail over the bound is cut, its full size still known, the next mail unharmed") {
  const std::string big = "From a@b x\nS: 1\n\n" + std::string(1000, 'x') + "\n\nFrom c@d y\nS: 2\n";
  const auto mails = split(big, 33, 100);
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].cut);
  CHECK(mails[0].text.size() == 100);
  CHECK(mails[0].size == 6 + 1000 + 1);
  CHECK_FALSE(mails[1].cut);
  CHECK(mails[1].text == "S: 2\n");
}

TEST_CASE("lines longer than the decision window stream through whole") {
  const std::string long_line(10000, 'a');
  const std::string overlong_from = "From " + std::string(9000, 'f');
  const std::string stream = "From a@b x\nS: 1\n\n" + long_line + "\n\n" + overlong_from + "\nS: 2\n";
  for (std::size_t chunk : {1000u, 4096u, 100000u}) {
    CAPTURE(chunk);
    const auto mails = split(stream, chunk);
    REQUIRE(mails.size() == 2);
    CHECK(mails[0].text == "S: 1\n\n" + long_line + "\n");
    CHECK(mails[1].text == "S: 2\n");  // the rest of an overlong From_ line is not mail
  }
}

}  // namespace
}  // namespace mtasts::tlsrpt
