#include "tlsrpt/report_output_files.hpp"

#include <fcntl.h>
#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/c_handles.hpp"

namespace mtasts::tlsrpt {
namespace {

Unexpected ioError(const std::string& path, const char* what) {
  return fail(ErrorCode::Io, fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

}  // namespace

Result<void> writeFileAtomically(const std::string& dir, const std::string& name, std::string_view bytes) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  net::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return ioError(tmp, "cannot create");
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(tmp.c_str());
      return ioError(tmp, "cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd.release()) != 0) {
    ::unlink(tmp.c_str());
    return ioError(tmp, "cannot close");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return ioError(path, "cannot rename into place");
  }
  return {};
}

Result<std::vector<std::string>> writeReportFiles(const std::string& dir, const StoredReport& report, UtcDay day,
                                                  std::string_view domain,
                                                  const std::vector<std::pair<int, Delivery>>& destinations,
                                                  const MailIdentity& mail, UnixSeconds now) {
  std::vector<std::string> written;
  if (auto ok = writeFileAtomically(dir, report.file_name, report.gzip); !ok) return Unexpected{ok.error()};
  written.push_back(report.file_name);
  std::string stem = report.file_name;
  if (stem.ends_with(".json.gz")) stem.resize(stem.size() - 8);
  for (const auto& [index, d] : destinations) {
    if (d.kind != DeliveryKind::Mailto) continue;
    auto message = composeReportMail(report, day, domain, d.rua, index, mail, now);
    if (!message) return Unexpected{std::move(message).error()};
    const std::string name = fmt::format("{}.{:02d}.eml", stem, index);
    if (auto ok = writeFileAtomically(dir, name, *message); !ok) return Unexpected{ok.error()};
    written.push_back(name);
  }
  return written;
}

}  // namespace mtasts::tlsrpt
