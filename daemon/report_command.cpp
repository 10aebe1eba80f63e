#include "daemon/report_command.hpp"

#include "cache/lmdb_env.hpp"
#include "daemon/privileges.hpp"
#include "daemon/report_component.hpp"
#include "daemon/runtime.hpp"
#include "tlsrpt/report_service.hpp"
#include "tlsrpt/utc_day.hpp"

#include <event2/event.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

namespace mtasts::daemon {

int runReportCommand(const CommandLine& cli, const Settings& settings) {
  const auto& s = settings.tlsrpt;
  if (const auto missing = tlsrpt::reportingMissing(reportKeys(s)); !missing.empty()) {
    for (const auto& m : missing) std::cerr << "mtastsd: --report: " << m << "\n";
    return ExitConfig;
  }
  auto options = reportServiceOptions(s);  // the DKIM keys are read before any switch
  if (!options) {
    std::cerr << "mtastsd: --report: " << options.error().detail << "\n";
    return ExitConfig;
  }
  tlsrpt::ManualRun run;
  const SystemClock clock;
  run.day = tlsrpt::UtcDay{tlsrpt::utcDayOf(clock.now()).days - 1};
  if (!cli.day.empty()) {
    auto day = tlsrpt::parseUtcDay(cli.day);
    if (!day) {
      std::cerr << "mtastsd: --day: " << day.error().detail << "\n";
      return ExitUsage;
    }
    run.day = *day;
  }
  run.domain = cli.report_domain;
  run.on_line = [](const std::string& line) { std::cout << line << "\n"; };
  run.dry_run = cli.dry_run;
  if (run.dry_run) {
    std::error_code ec;
    std::filesystem::create_directories(cli.out_dir, ec);
    run.out_dir = std::filesystem::absolute(cli.out_dir, ec).string();
  }
  const std::string& dir = settings.store.state_dir;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "data.mdb")) {
    std::cerr << "mtastsd: --report: nothing collected yet in " << dir << "\n";
    return ExitCantCreate;
  }
  if (auto ok = switchToOwnerOf(dir); !ok) {
    std::cerr << "mtastsd: " << ok.error().detail << "\n";
    return ExitOsError;
  }
  auto runtime = Runtime::create(settings);
  if (!runtime) {
    std::cerr << "mtastsd: " << runtime.error().detail << "\n";
    return ExitConfig;
  }
  cache::LmdbOptions store_options;
  store_options.dir = dir;
  store_options.map_size = settings.store.lmdb_map_size;
  store_options.max_map_size = std::max(store_options.max_map_size, settings.store.lmdb_map_size);
  store_options.read_only = run.dry_run;
  auto env = cache::LmdbEnv::open(store_options);
  if (!env) {
    std::cerr << "mtastsd: cannot open the store: " << env.error().detail << "\n";
    return ExitCantCreate;
  }
  Runtime& rt = **runtime;
  std::optional<tlsrpt::RunSummary> summary;
  {
    tlsrpt::ReportService service({rt.base(), rt.clock(), rt.scheduler(), rt.dns(), rt.https()}, std::move(*options));
    if (auto ok = service.attach(*env, run.dry_run); !ok) {
      std::cerr << "mtastsd: cannot open the TLS-RPT stores: " << ok.error().detail << "\n";
      return ExitCantCreate;
    }
    // A run tries each open destination once: those last tried before the second it starts
    // in. Starting on a fresh second keeps a run made right after another from skipping what
    // that one tried in the same second.
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    std::this_thread::sleep_for(std::chrono::seconds(1) - (wall % std::chrono::seconds(1)));
    service.runManual(run, [&](tlsrpt::RunSummary got) { summary = std::move(got); });
    while (!summary) {
      if (event_base_loop(rt.base(), EVLOOP_ONCE) < 0) break;
    }
  }
  if (!summary) {
    std::cerr << "mtastsd: --report: the event loop failed\n";
    return ExitOsError;
  }
  for (const auto& line : summary->lines) std::cout << line << "\n";
  std::cout << "day " << tlsrpt::formatDate(run.day) << ": domains=" << summary->domains
            << " built=" << summary->built << " reused=" << summary->reused << " no_record=" << summary->no_record
            << " delivered=" << summary->delivered << " failed=" << summary->failed << " errors=" << summary->errors;
  if (run.dry_run) std::cout << " files=" << summary->files;
  std::cout << "\n";
  return summary->failed > 0 || summary->errors > 0 ? 1 : 0;
}

}  // namespace mtasts::daemon
