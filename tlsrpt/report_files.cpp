#include "tlsrpt/report_files.hpp"

#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_json.hpp"
#include "tlsrpt/report_naming.hpp"
#include "tlsrpt/report_validator.hpp"

namespace mtasts::tlsrpt {

Result<ReportFiles> buildReportFiles(const Report& report, std::string_view submitter) {
  auto file_name = reportFileName(submitter, report.policy_domain, report.day, report.report_id);
  if (!file_name) return Unexpected{std::move(file_name).error()};
  auto json = writeReportJson(report);
  if (!json) return Unexpected{std::move(json).error()};
  if (const auto problems = validateReportJson(*json, ValidationOptions{true}); !problems.empty()) {
    std::string detail = "report JSON fails RFC 8460 validation:";
    for (const auto& p : problems) detail += " " + p + ";";
    return fail(ErrorCode::InvalidInput, std::move(detail));
  }
  auto gz = gzipCompress(*json);
  if (!gz) return Unexpected{std::move(gz).error()};
  return ReportFiles{std::move(*json), std::move(*gz), std::move(*file_name)};
}

}  // namespace mtasts::tlsrpt
