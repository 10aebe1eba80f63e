#include "tlsrpt/report.hpp"

#include <algorithm>
#include <limits>

namespace mtasts::tlsrpt {
namespace {

void normalizeRows(std::vector<FailureCount>& rows) {
  std::sort(rows.begin(), rows.end(),
            [](const FailureCount& a, const FailureCount& b) { return a.detail < b.detail; });
  std::vector<FailureCount> merged;
  for (auto& row : rows) {
    if (!merged.empty() && merged.back().detail == row.detail) {
      merged.back().sessions = saturatingAdd(merged.back().sessions, row.sessions);
    } else {
      merged.push_back(std::move(row));
    }
  }
  std::erase_if(merged, [](const FailureCount& row) { return row.sessions == 0; });
  rows = std::move(merged);
}

}  // namespace

void normalizeReport(Report& report) {
  auto& entries = report.policies;
  std::stable_sort(entries.begin(), entries.end(),
                   [](const PolicyEntry& a, const PolicyEntry& b) { return a.policy < b.policy; });
  std::vector<PolicyEntry> merged;
  for (auto& entry : entries) {
    if (!merged.empty() && merged.back().policy == entry.policy) {
      auto& into = merged.back();
      into.successful_sessions = saturatingAdd(into.successful_sessions, entry.successful_sessions);
      into.failed_sessions = saturatingAdd(into.failed_sessions, entry.failed_sessions);
      for (auto& row : entry.failures) into.failures.push_back(std::move(row));
    } else {
      merged.push_back(std::move(entry));
    }
  }
  for (auto& entry : merged) normalizeRows(entry.failures);
  entries = std::move(merged);
}

}  // namespace mtasts::tlsrpt
