#include "tlsrpt/report_input_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/mbox_splitter.hpp"
#include "tlsrpt/report_mail_reader.hpp"

namespace mtasts::tlsrpt {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t ChunkBytes = 64 * 1024;  // one read; also what is sniffed

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string errnoText(int error) { return std::error_code(error, std::generic_category()).message(); }

// Appends from fd until EOF or until out holds limit bytes. Returns 0 or an errno value.
// Reads into the capacity out already has first (callers reserve the file's size), so a
// small file does not leave a 64 KiB buffer behind in the heap.
int readUpTo(int fd, std::string& out, std::size_t limit) {
  while (out.size() < limit) {
    std::size_t want = std::min(ChunkBytes, limit - out.size());
    if (out.capacity() > out.size()) want = std::min(want, out.capacity() - out.size());
    const std::size_t old = out.size();
    out.resize(old + want);
    const ssize_t n = ::read(fd, out.data() + old, want);
    if (n < 0 && errno == EINTR) {
      out.resize(old);
      continue;
    }
    if (n <= 0) {
      out.resize(old);
      return n < 0 ? errno : 0;
    }
    out.resize(old + static_cast<std::size_t>(n));
  }
  return 0;
}

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && equalsIgnoreCaseAscii(s.substr(s.size() - suffix.size()), suffix);
}

bool namedAsReportOrMail(std::string_view name) noexcept {
  return endsWithIgnoreCase(name, ".json") || endsWithIgnoreCase(name, ".json.gz") ||
         endsWithIgnoreCase(name, ".eml");
}

// The first line is an RFC 5322 header field ("Name: ..."). A text file that happens to look
// so is then read as a mail without a report and ignored, which is what it deserves anyway.
bool looksLikeMailHeader(std::string_view head) noexcept {
  const std::size_t colon = head.find(':');
  const std::size_t eol = head.find('\n');
  if (colon == std::string_view::npos || colon == 0 || colon > 200 || (eol != std::string_view::npos && eol < colon)) {
    return false;
  }
  std::string_view name = head.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

std::string tooLarge(std::size_t limit) { return fmt::format("larger than the {} byte limit: not read", limit); }

class PathReader {
 public:
  PathReader(const InputLimits& limits, ReportSink& sink) : limits_(limits), sink_(sink) {}

  void path(const std::string& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      sink_.note(NoteKind::Skipped, path, "cannot read: " + (ec ? ec.message() : errnoText(ENOENT)));
    } else if (fs::is_directory(status)) {
      directory(path, 0);
    } else if (fs::is_regular_file(status)) {
      file(path);
    } else {
      sink_.note(NoteKind::Ignored, path, "not a regular file or directory");
    }
  }

 private:
  // Entry names of a directory in byte order; dot files left out unless dots is set.
  std::vector<std::string> names(const std::string& dir, bool dots) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.starts_with('.') != dots) continue;
      out.push_back(std::move(name));
    }
    if (ec) sink_.note(NoteKind::Skipped, dir, "cannot list: " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string join(const std::string& dir, const std::string& name) {
    return dir.ends_with('/') ? dir + name : dir + "/" + name;
  }

  static bool isMaildir(const std::string& dir) {
    std::error_code ec;
    return fs::is_directory(join(dir, "cur"), ec) || fs::is_directory(join(dir, "new"), ec);
  }

  void directory(const std::string& dir, std::size_t depth) {
    if (isMaildir(dir)) {
      maildir(dir, depth);
      return;
    }
    for (const std::string& name : names(dir, false)) {
      const std::string entry = join(dir, name);
      std::error_code ec;
      const fs::file_status link = fs::symlink_status(entry, ec);
      const fs::file_status target = fs::status(entry, ec);
      if (fs::is_directory(target)) {
        if (fs::is_symlink(link)) {
          sink_.note(NoteKind::Ignored, entry, "a symbolic link to a directory: not followed");
        } else if (depth + 1 >= limits_.max_directory_depth) {
          sink_.note(NoteKind::Ignored, entry,
                     fmt::format("deeper than {} directory levels: not read", limits_.max_directory_depth));
        } else {
          directory(entry, depth + 1);
        }
      } else if (fs::is_regular_file(target)) {
        file(entry);
      } else {
        sink_.note(NoteKind::Ignored, entry, "not a regular file or directory");
      }
    }
  }

  // new/ then cur/ (tmp/ holds mails still being delivered), then Maildir++ subfolders.
  void maildir(const std::string& dir, std::size_t depth) {
    for (const char* sub : {"new", "cur"}) {
      const std::string folder = join(dir, sub);
      std::error_code ec;
      if (!fs::is_directory(folder, ec)) continue;
      for (const std::string& name : names(folder, false)) {
        const std::string entry = join(folder, name);
        if (fs::is_regular_file(entry, ec)) file(entry);
      }
    }
    if (depth + 1 >= limits_.max_directory_depth) return;
    for (const std::string& name : names(dir, true)) {
      const std::string entry = join(dir, name);
      std::error_code ec;
      if (name != "." && name != ".." && !fs::is_symlink(entry, ec) && fs::is_directory(entry, ec) &&
          isMaildir(entry)) {
        maildir(entry, depth + 1);
      }
    }
  }

  void file(const std::string& path) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) {
      sink_.note(NoteKind::Skipped, path, "cannot open: " + errnoText(errno));
      return;
    }
    struct stat st {};
    const std::size_t size = ::fstat(fd.get(), &st) == 0 && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 0;
    const std::string name = fs::path(path).filename().string();
    std::string head;
    head.reserve(std::min(size, ChunkBytes) + 1);
    if (const int error = readUpTo(fd.get(), head, ChunkBytes)) {
      sink_.note(NoteKind::Skipped, path, "cannot read: " + errnoText(error));
      return;
    }
    const NoteKind unrelated = namedAsReportOrMail(name) ? NoteKind::Skipped : NoteKind::Ignored;
    const std::size_t limit = limits_.intake.max_input_bytes;
    if (head.empty()) {
      sink_.note(unrelated, path, "an empty file");
    } else if (head.starts_with("From ")) {
      mbox(fd.get(), std::move(head), path);
    } else if (isGzip(head) || looksLikeJsonObject(head) || looksLikeMailHeader(head)) {
      const bool mail = !isGzip(head) && !looksLikeJsonObject(head);
      std::string content = std::move(head);
      content.reserve(std::min(size, limit) + 1);
      if (const int error = readUpTo(fd.get(), content, limit + 1)) {
        sink_.note(NoteKind::Skipped, path, "cannot read: " + errnoText(error));
      } else if (content.size() > limit) {
        oversized(content, path, mail);
      } else if (mail) {
        readReportMail(content, path, limits_.intake, sink_);
      } else {
        readReportFile(content, path, name, limits_.intake, sink_);
      }
    } else {
      sink_.note(unrelated, path,
                 fmt::format("neither a report (gzip or JSON) nor a mail or an mbox (starts with \"{}\")",
                             escapeForLog(std::string_view(head).substr(0, 16))));
    }
  }

  // Over the size limit: skipped if it says it is a report, ignored if its header says not.
  void oversized(std::string_view start, const std::string& where, bool mail) {
    if (mail && !scanReportMail(start.substr(0, ChunkBytes), limits_.intake.mime).announces_report) {
      sink_.note(NoteKind::Ignored, where,
                 "a mail " + tooLarge(limits_.intake.max_input_bytes) + " (no TLSRPT report by its header)");
      return;
    }
    sink_.note(NoteKind::Skipped, where, tooLarge(limits_.intake.max_input_bytes));
  }

  void mbox(int fd, std::string head, const std::string& path) {
    MboxSplitter splitter(limits_.intake.max_input_bytes, [&](MboxMail&& mail) {
      const std::string where = fmt::format("{}: mail {} (line {})", path, mail.index, mail.line);
      if (mail.cut) {
        oversized(mail.text, where, true);
      } else {
        readReportMail(mail.text, where, limits_.intake, sink_);
      }
    });
    splitter.feed(head);
    head = std::string();
    std::string buffer(ChunkBytes, '\0');
    while (true) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        sink_.note(NoteKind::Skipped, path,
                   fmt::format("read error after {} mails: {}", splitter.mails(), errnoText(errno)));
        break;
      }
      if (n == 0) break;
      splitter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
    splitter.finish();
  }

  const InputLimits& limits_;
  ReportSink& sink_;
};

}  // namespace

void readReportPath(const std::string& path, const InputLimits& limits, ReportSink& sink) {
  PathReader(limits, sink).path(path);
}

}  // namespace mtasts::tlsrpt
