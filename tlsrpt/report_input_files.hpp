// Finding received reports on disk for --read-reports: a PATH is a file or a directory. A file
// is told by its content (gzip magic, '{', an mbox "From " line, RFC 5322 header fields), its
// name only deciding between "ignored" and "skipped" when the content is none of those. An
// mbox is streamed in 64 KiB reads with one mail in memory; other files are read whole within
// IntakeLimits::max_input_bytes. A directory is a Maildir when it has cur/ or new/ (those two,
// then its Maildir++ ".Folder" subfolders, are read; tmp/ and index files are not); otherwise
// it is walked in name order, dot files left out, symbolic links to directories not followed.
// Synchronous I/O on the calling thread (a CLI command, not the daemon's loop); every problem
// is a note to the sink, never an exception or an abort of the whole run.
#pragma once

#include <string>

#include "tlsrpt/report_intake.hpp"

namespace mtasts::tlsrpt {

struct InputLimits {
  IntakeLimits intake;
  std::size_t max_directory_depth = 16;
};

void readReportPath(const std::string& path, const InputLimits& limits, ReportSink& sink);

}  // namespace mtasts::tlsrpt
