// libFuzzer target for reading received TLSRPT reports (--read-reports): the mbox splitter
// fed in chunks, the MIME walk and attachment decoding of each mail, gzip / JSON sniffing,
// the lenient report reader, the digest and both output formats. Input: the first byte picks
// the chunk size (1 to 256) the stream is fed in; the rest is an mbox, a mail or a report file.
// Invariants, checked with abort(): splitting does not depend on the chunk size, every mail
// stays within its bound, every note is one non-empty line, every report read has a date
// range with start <= end and a digest whose totals are the sums of what it was given, and
// the JSON output parses.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tlsrpt/mbox_splitter.hpp"
#include "tlsrpt/report_digest.hpp"
#include "tlsrpt/report_digest_format.hpp"
#include "tlsrpt/report_intake.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

constexpr std::size_t MaxMail = 256 * 1024;

void require(bool ok) {
  if (!ok) std::abort();
}

class CheckingSink final : public ReportSink {
 public:
  void report(ReceivedReport&& r, const std::string& where, std::string_view hint) override {
    require(r.start <= r.end);
    require(!where.empty());
    for (const PolicyEntry& p : r.policies) {
      successful_ = saturatingAdd(successful_, p.successful_sessions);
      failed_ = saturatingAdd(failed_, p.failed_sessions);
    }
    digest_.add(r, hint);
  }
  void note(NoteKind kind, const std::string& where, const std::string& reason) override {
    require(!where.empty() && !reason.empty());
    ReadNote note{kind, where, reason};
    const std::string line = formatNoteLine(note);
    require(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos);
    if (kind == NoteKind::Skipped) ++tally_.skipped;
    if (kind == NoteKind::Ignored) ++tally_.ignored;
    tally_.notes.push_back(std::move(note));
  }
  void finish() {
    // Each report is new (no duplicates are fed twice with the same id here unless the
    // input repeats one), so the digest's totals can only be at most what was handed in.
    require(digest_.totals().successful <= successful_);
    require(digest_.totals().failed <= failed_);
    (void)formatDigestText(digest_, tally_);
    const std::string json = formatDigestJson(digest_, tally_);
    require(!nlohmann::json::parse(json, nullptr, false).is_discarded());
  }

 private:
  ReportDigest digest_;
  ReadTally tally_;
  std::uint64_t successful_ = 0;
  std::uint64_t failed_ = 0;
};

std::vector<MboxMail> split(std::string_view stream, std::size_t chunk) {
  std::vector<MboxMail> mails;
  MboxSplitter splitter(MaxMail, [&](MboxMail&& m) { mails.push_back(std::move(m)); });
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) splitter.feed(stream.substr(pos, chunk));
  splitter.finish();
  return mails;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  IntakeLimits limits;
  limits.max_input_bytes = MaxMail;
  limits.max_report_json = 1024 * 1024;
  limits.mime.max_parts = 64;

  const std::vector<MboxMail> whole = split(input, input.size() + 1);
  const std::vector<MboxMail> chunked = split(input, chunk);
  require(whole.size() == chunked.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    require(whole[i].text == chunked[i].text && whole[i].line == chunked[i].line);
    require(whole[i].index == i + 1);
    require(whole[i].text.size() <= MaxMail && whole[i].cut == (whole[i].size > MaxMail));
    total += whole[i].size;
  }
  require(total <= input.size());

  CheckingSink sink;
  for (const MboxMail& mail : whole) readReportMail(mail.text, "mail", limits, sink);
  readReportMail(input, "input as a mail", limits, sink);
  readReportFile(input, "input as a file", "x!d.example!1!2.json.gz", limits, sink);
  sink.finish();
  return 0;
}
