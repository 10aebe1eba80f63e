#include "tlsrpt/report_mail_reader.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/mime_decode.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxOutlineTypes = 8;

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && equalsIgnoreCaseAscii(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string labelOf(const MimeLeaf& leaf) {
  std::string label = "part " + leaf.number;
  if (!leaf.file_name.empty()) label += " (" + escapeForLog(leaf.file_name, 120) + ")";
  return label;
}

}  // namespace

bool isReportAttachment(std::string_view content_type, std::string_view file_name) {
  if (content_type == "application/tlsrpt+gzip" || content_type == "application/tlsrpt+json") {
    return true;
  }
  // Only *.json.gz: a DMARC aggregate report (*.xml.gz) often shares the mailbox.
  const bool gz_name = endsWithIgnoreCase(file_name, ".json.gz");
  const bool json_name = endsWithIgnoreCase(file_name, ".json");
  if (content_type == "application/gzip" || content_type == "application/x-gzip") {
    return gz_name;
  }
  if (content_type == "application/json") return json_name;
  if (content_type == "application/octet-stream") return gz_name || json_name;
  return false;
}

ReportMailScan scanReportMail(std::string_view mail, const MimeLimits& limits) {
  MimeTree tree = walkMime(mail, limits);
  ReportMailScan scan;
  if (const std::string* domain = tree.header.find("TLS-Report-Domain")) {
    scan.report_domain = std::string(trim(*domain));
    scan.announces_report = true;
  }
  const std::string* report_type = tree.content_type.param("report-type");
  if (tree.content_type.token == "multipart/report" && report_type != nullptr &&
      equalsIgnoreCaseAscii(*report_type, "tlsrpt")) {
    scan.announces_report = true;
  }
  scan.outline = tree.content_type.token;
  if (tree.content_type.token.starts_with("multipart/")) {
    scan.outline += ":";
    for (std::size_t i = 0; i < tree.leaves.size() && i < MaxOutlineTypes; ++i) {
      scan.outline += (i == 0 ? " " : ", ") + tree.leaves[i].content_type;
    }
    if (tree.leaves.size() > MaxOutlineTypes) {
      scan.outline += fmt::format(" and {} more", tree.leaves.size() - MaxOutlineTypes);
    }
  }
  for (const MimeLeaf& leaf : tree.leaves) {
    if (!isReportAttachment(leaf.content_type, leaf.file_name)) continue;
    auto decoded = decodeTransferEncoding(leaf.body, leaf.transfer_encoding);
    if (!decoded) {
      scan.broken.push_back(BrokenReportPart{labelOf(leaf), decoded.error().detail});
      continue;
    }
    scan.parts.push_back(ReportPart{labelOf(leaf), leaf.file_name, std::move(*decoded)});
  }
  scan.structure_problems = std::move(tree.problems);
  return scan;
}

}  // namespace mtasts::tlsrpt
