// Generates received-report inputs for the --read-reports benchmark (issue 17): COUNT report
// mails made by mtastsd's own writer and mail builder into OUT/reports.mbox (mboxrd) and into
// OUT/Maildir (half in new/, half in cur/), and COUNT report files OUT/files/<name>.json.gz.
// Varied: 20 submitting organizations, 500 policy domains, 30 UTC days ending 2026-11-29.
//   report_mailbox_gen OUT COUNT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/tlsrpt/report_mail_factory.hpp"

namespace fs = std::filesystem;
using namespace mtasts::tlsrpt;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: report_mailbox_gen OUT COUNT\n");
    return 2;
  }
  const fs::path out = argv[1];
  const std::size_t count = std::stoul(argv[2]);
  fs::create_directories(out / "Maildir" / "cur");
  fs::create_directories(out / "Maildir" / "new");
  fs::create_directories(out / "Maildir" / "tmp");
  fs::create_directories(out / "files");
  std::ofstream mbox(out / "reports.mbox", std::ios::binary);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string submitter = "reporter" + std::to_string(i % 20) + ".example";
    const UtcDay day{20786 - static_cast<std::int64_t>(i % 30)};
    auto made = test::makeReport(i, day, submitter, 500);
    if (!made) {
      std::fprintf(stderr, "report %zu: %s\n", i, made.error().detail.c_str());
      return 1;
    }
    mbox << test::mboxEntry(made->mail, "tlsrpt-noreply@" + submitter);
    const std::string name = std::to_string(1796000000 + i) + ".M" + std::to_string(i) + "P1.bench" +
                             (i % 2 ? ":2,S" : "");
    std::ofstream(out / "Maildir" / (i % 2 ? "cur" : "new") / name, std::ios::binary) << made->mail;
    std::ofstream(out / "files" / made->file_name, std::ios::binary) << made->gzip;
  }
  return mbox ? 0 : 1;
}
