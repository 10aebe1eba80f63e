// ReportSender, --report --dry-run: each domain's report written to the output directory with
// the mail it would send, from the stored report when there is one (so the files show what
// the daemon sends), else built now with a fresh report-id. Nothing is stored or sent.
#include "tlsrpt/report_sender.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/log.hpp"
#include "tlsrpt/report_output_files.hpp"

namespace mtasts::tlsrpt {
namespace {

struct DryRunOutcome {
  bool stored_before = false;  // first pass: false = nothing stored, resolve and build
  std::vector<std::string> files;
  std::string report_id;
  std::optional<Error> error;
};

}  // namespace

void ReportSender::writeDryRun(UtcDay day, const std::string& domain, std::optional<std::string> carried,
                               std::optional<RuaDecision> rua) {
  auto out = std::make_shared<DryRunOutcome>();
  const UnixSeconds now = deps_.clock.now();
  const std::string dir = manual_->out_dir;
  if (!rua) {
    // First pass: the stored report, with its stored destinations.
    post(
        [state = deps_.state, dir, day, domain, mail = options_.mail, now, out] {
          if (state == nullptr) return;
          auto stored = state->report(day, domain);
          if (!stored) {
            out->error = stored.error();
            return;
          }
          if (!*stored) return;
          out->stored_before = true;
          out->report_id = (*stored)->report_id;
          std::vector<std::pair<int, Delivery>> destinations;
          if (auto records = state->deliveries(deliveryDomainPrefix(day, domain))) {
            for (auto& r : *records) destinations.emplace_back(r.where.index, std::move(r.delivery));
          }
          auto files = writeReportFiles(dir, **stored, day, domain, destinations, mail, now);
          if (files) {
            out->files = std::move(*files);
          } else {
            out->error = files.error();
          }
        },
        [this, day, domain, carried = std::move(carried), out] {
          if (out->stored_before || out->error) {
            building_ = false;
            manual_cursor_ = domain;
            if (out->error) {
              ++summary_.errors;
              noteLine(fmt::format("{}: {}", domain, escapeForLog(out->error->detail)));
            } else {
              ++summary_.reused;
              summary_.files += out->files.size();
              noteLine(fmt::format("{}: stored report {} written: {}", domain, out->report_id,
                                                   fmt::join(out->files, " ")));
            }
            turn();
            return;
          }
          resolveRua(day, domain, carried, [this, day, domain](std::optional<RuaDecision> found, std::string why) {
            if (!found) {
              skipDomain(day, domain, why);
            } else {
              writeDryRun(day, domain, std::nullopt, std::move(found));
            }
          });
        });
    return;
  }
  // Second pass: built now, with the destinations the record names (none while its lookup fails).
  post(
      [days = &deps_.days, dir, day, domain, decision = std::move(*rua), who = options_.identity,
       mail = options_.mail, token = fmt::format("{:016x}", options_.random()), now, out] {
        auto entries = days->entries(day, domain);
        if (!entries) {
          out->error = entries.error();
          return;
        }
        auto built = buildReport(day, domain, *entries, who, token, now);
        entries->clear();
        if (!built) {
          out->error = built.error();
          return;
        }
        out->report_id = built->stored.report_id;
        const auto destinations = decision.record ? destinationsOf(*decision.record, now)
                                                  : std::vector<std::pair<int, Delivery>>{};
        auto files = writeReportFiles(dir, built->stored, day, domain, destinations, mail, now);
        if (files) {
          out->files = std::move(*files);
        } else {
          out->error = files.error();
        }
      },
      [this, domain, out] {
        building_ = false;
        manual_cursor_ = domain;
        if (out->error) {
          ++summary_.errors;
          noteLine(fmt::format("{}: {}", domain, escapeForLog(out->error->detail)));
        } else {
          ++summary_.built;
          summary_.files += out->files.size();
          noteLine(fmt::format("{}: report {} written: {}", domain, out->report_id,
                                               fmt::join(out->files, " ")));
        }
        turn();
      });
}

}  // namespace mtasts::tlsrpt
