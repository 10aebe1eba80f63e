// mtastsd entry point: wiring only. Parses the command line and configuration, owns the
// event_base (RAII), builds the policy source and the socketmap server, and turns signals
// into a graceful stop (SIGTERM/SIGINT) or a reload of the reloadable keys (SIGHUP); those
// are held from main's first line, so one during start-up acts once the loop runs.
// Startup order: check privileges, build the resolver (reads ca_file), bind the listeners,
// switch to `user`, then open the store (so its files are that user's). Foreground only,
// logs to stderr; exit codes from sysexits.h (see cli.hpp).
#include "cache/lmdb_policy_store.hpp"
#include "common/log.hpp"
#include "daemon/cache_command.hpp"
#include "daemon/cli.hpp"
#include "daemon/config.hpp"
#include "daemon/policy_stack.hpp"
#include "daemon/privileges.hpp"
#include "daemon/query_command.hpp"
#include "net/signals.hpp"
#include "server/socketmap_server.hpp"

#include <event2/event.h>
#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace {

using namespace mtasts;
using namespace mtasts::daemon;

struct EventBaseDeleter {
  void operator()(event_base* base) const noexcept { event_base_free(base); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("main");
  return logger;
}

server::ServerLimits serverLimits(const Settings& s) {
  server::ServerLimits limits;
  limits.max_query_size = s.server.max_query_size;
  limits.max_reply_size = s.server.max_reply_size;
  limits.max_connections = s.server.max_connections;
  limits.max_pipelined = s.server.max_pipelined;
  limits.idle_timeout = s.server.idle_timeout;
  limits.write_timeout = s.server.write_timeout;
  limits.tlsrpt_map_names = s.server.tlsrpt_map_names;
  return limits;
}

Result<Settings> loadSettings(const CommandLine& cli, std::vector<std::string>& errors) {
  auto text = readConfigFile(cli.config_path, cli.config_path_given);
  if (!text) {
    errors.push_back(text.error().detail);
    return Unexpected{std::move(text).error()};
  }
  return parseConfig(*text, cli.config_path, cli.overrides, errors);
}

// -v raises the level to debug (never lowers a configured trace).
void applyLogLevel(const Settings& settings, bool verbose) {
  const bool keep = !verbose || settings.process.log_level == "trace" || settings.process.log_level == "debug";
  setLogLevel(keep ? settings.process.log_level : "debug");
}

Result<void> ensureStateDir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    if (::chmod(dir.c_str(), 0750) != 0)
      return fail(ErrorCode::Io, fmt::format("state_dir {}: chmod: {}", dir, std::strerror(errno)));
  } else if (ec) {
    return fail(ErrorCode::Io, fmt::format("state_dir {}: cannot create: {}", dir, ec.message()));
  }
  // access() says yes to root for anything; creating a file is the real test.
  std::string probe = dir + "/.mtastsd-write-test.XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0) return fail(ErrorCode::Io, fmt::format("state_dir {}: not writable: {}", dir, std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// The listeners are bound and the resolver (ca_file, resolv.conf) built while the process
// may still be root; the LMDB store, and with it the PolicyService, comes after the switch
// to `user`. This stands in for the service until then. Nothing calls it early (the loop
// is not running yet); if something did, the lookup would get TEMP, never a crash.
class LateSource final : public postfix::PolicyLookup {
 public:
  void attach(postfix::PolicyLookup* source) { source_ = source; }
  RequestHandle lookup(std::string_view domain, Callback done) override {
    if (source_) return source_->lookup(domain, std::move(done));
    done(postfix::PolicyAnswer::tempFail(domain, "starting"));
    return nullptr;
  }

 private:
  postfix::PolicyLookup* source_ = nullptr;
};

// The privilege plan for the daemon; on refusal logs why and returns the exit code.
std::optional<int> planOrExit(const Settings& settings, PrivilegePlan& plan, std::optional<UserIds>& target) {
  if (!settings.process.user.empty()) {
    auto ids = lookupUser(settings.process.user);
    if (ids) {
      target = std::move(*ids);
    } else if (ids.error().code != ErrorCode::NotFound) {
      log()->critical("cannot look the user up error={}", escapeForLog(ids.error().detail));
      return ExitOsError;
    }
  }
  plan = planPrivileges(::geteuid(), settings.process.user, target, settings.process.allow_root);
  if (plan.action == PrivilegeAction::Refuse) {
    log()->critical("{}", plan.message);
    return ExitConfig;
  }
  if (!plan.message.empty()) log()->warn("{}", plan.message);
  return std::nullopt;
}

int run(const CommandLine& cli, Settings settings) {
  PrivilegePlan plan;
  std::optional<UserIds> target;
  if (auto code = planOrExit(settings, plan, target)) return *code;
  if (auto ok = ensureStateDir(settings.store.state_dir); !ok) {
    log()->critical("cannot use state directory error={}", escapeForLog(ok.error().detail));
    return ExitCantCreate;
  }
  EventBasePtr base(event_base_new());
  if (!base) {
    log()->critical("cannot create the event loop");
    return ExitOsError;
  }
  // Declared before the server so that they outlive it: the server is destroyed first,
  // cancelling its waits on the service.
  std::unique_ptr<cache::LmdbPolicyStore> store;
  auto built = makePolicyStack(base.get(), settings, nullptr);
  if (!built) {
    log()->critical("cannot start the resolver error={}", escapeForLog(built.error().detail, 400));
    return ExitConfig;
  }
  std::unique_ptr<PolicyStack> stack = std::move(*built);
  LateSource source;
  server::SocketmapServer server(base.get(), source, serverLimits(settings));
  if (auto ok = server.listen(settings.server.listen, {settings.server.unix_socket_mode, settings.server.unix_socket_owner,
                                                settings.server.unix_socket_group});
      !ok) {
    log()->critical("cannot listen error={}", escapeForLog(ok.error().detail));
    return ExitOsError;
  }
  if (plan.action == PrivilegeAction::Switch) {
    if (auto ok = chownStateDir(settings.store.state_dir, *target); !ok) {
      log()->critical("cannot use state directory error={}", escapeForLog(ok.error().detail));
      return ExitCantCreate;
    }
    if (auto ok = switchToUser(*target); !ok) {
      log()->critical("cannot drop privileges error={}", escapeForLog(ok.error().detail));
      return ExitOsError;
    }
    log()->info("dropped privileges user={} uid={} gid={}", target->name, target->uid, target->gid);
  }
  // The process's one LMDB environment (a process opens a state_dir once); every store
  // attaches to it. The map may start above the default cap when lmdb_map_size says so.
  cache::LmdbOptions store_options;
  store_options.dir = settings.store.state_dir;
  store_options.map_size = settings.store.lmdb_map_size;
  store_options.max_map_size = std::max(store_options.max_map_size, settings.store.lmdb_map_size);
  auto env = cache::LmdbEnv::open(store_options);
  if (!env) {
    log()->critical("cannot open the state store error={}", escapeForLog(env.error().detail, 400));
    return ExitCantCreate;
  }
  auto opened = cache::LmdbPolicyStore::attach(*env);
  if (!opened) {
    log()->critical("cannot open the policy store error={}", escapeForLog(opened.error().detail, 400));
    return ExitCantCreate;
  }
  store = std::move(*opened);
  PolicyService& service = stack->startService(*store, settings);
  service.startTimers();
  source.attach(&service);
  bool stopping = false;
  auto on_stop = [&](int signal) {
    if (stopping) {
      log()->warn("second stop signal, exiting now signal={}", signal);
      event_base_loopbreak(base.get());
      return;
    }
    stopping = true;
    log()->info("stopping signal={}", signal);
    server.shutdown(settings.server.shutdown_timeout, [&] {
      service.flushUsage();
      event_base_loopexit(base.get(), nullptr);
    });
  };
  auto on_reload = [&](int) {
    std::vector<std::string> errors;
    auto fresh = loadSettings(cli, errors);
    if (!fresh) {
      for (const auto& e : errors) log()->error("reload: {}", escapeForLog(e, 400));
      log()->warn("reload failed, keeping the running settings errors={}", errors.size());
      return;
    }
    std::vector<std::string> applied;
    std::vector<std::string> ignored;
    settings = mergeReloadable(settings, *fresh, applied, ignored);
    applyLogLevel(settings, cli.verbose);
    server.updateLimits(serverLimits(settings));
    stack->reload(settings);
    log()->info("configuration reloaded changed={}", applied.empty() ? "none" : joined(applied));
    for (const auto& key : ignored) log()->warn("changed key needs a restart, keeping running value key={}", key);
  };
  net::SignalHandlers signals(base.get(), on_stop, on_reload);
  log()->info("mtastsd started version={} listen={} state_dir={}", MTASTS_VERSION, joined(server.boundNames()),
              settings.store.state_dir);
  if (event_base_dispatch(base.get()) < 0) {
    log()->critical("event loop failed");
    return ExitOsError;
  }
  service.flushUsage();
  log()->info("mtastsd stopped");
  return 0;
}

// --query: the configured DNS and CA, no cache, one live lookup. Logs stay at warn so
// that stdout carries the report alone.
int runQueryCommand(const CommandLine& cli, const Settings& settings) {
  if (!cli.verbose) setLogLevel("warn");
  EventBasePtr base(event_base_new());
  if (!base) return ExitOsError;
  auto stack = makePolicyStack(base.get(), settings, nullptr);
  if (!stack) {
    std::cerr << "mtastsd: " << stack.error().detail << "\n";
    return ExitConfig;
  }
  const QueryReport report = runQuery(base.get(), *(*stack)->resolver, cli.query_domain);
  QueryFormat format;
  format.json = cli.json;
  format.strict_testing = settings.policy.strict_testing;
  format.max_reply_size = settings.server.max_reply_size;
  if (!settings.server.tlsrpt_map_names.empty()) format.tlsrpt_map = settings.server.tlsrpt_map_names.front();
  std::cout << formatQueryReport(report, format);
  return queryExitCode(report);
}

bool runsDaemon(const CommandLine& cli) {
  return !(cli.help || cli.version || cli.print_config_table_roff || cli.check_config || !cli.query_domain.empty() ||
           cli.dump || !cli.purge_domain.empty() || cli.purge_all);
}

int mainImpl(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto cli = parseCommandLine(args);
  if (!cli) {
    std::cerr << "mtastsd: " << cli.error().detail << "\n" << usageText();
    return ExitUsage;
  }
  // Only the daemon holds its signals through start-up; a command is interrupted the
  // ordinary way (Ctrl-C on a slow --query).
  if (!runsDaemon(*cli)) net::releaseSignals();
  if (cli->help) {
    std::cout << usageText();
    return 0;
  }
  if (cli->version) {
    std::cout << "mtastsd " << MTASTS_VERSION << "\n";
    return 0;
  }
  if (cli->print_config_table_roff) {
    std::cout << configTableRoff();
    return 0;
  }
  std::vector<std::string> errors;
  auto settings = loadSettings(*cli, errors);
  if (!settings) {
    for (const auto& e : errors) std::cerr << "mtastsd: " << e << "\n";
    return ExitConfig;
  }
  if (cli->check_config) {
    std::cout << formatSettings(*settings);
    return 0;
  }
  applyLogLevel(*settings, cli->verbose);
  if (!cli->query_domain.empty()) return runQueryCommand(*cli, *settings);
  if (cli->dump || !cli->purge_domain.empty() || cli->purge_all) {
    // Run as root, these would leave root-owned LMDB files the daemon user cannot open.
    if (auto ok = switchToOwnerOf(settings->store.state_dir); !ok) {
      std::cerr << "mtastsd: " << ok.error().detail << "\n";
      return ExitOsError;
    }
    if (cli->dump) return runDump(settings->store.state_dir, cli->json);
    return runPurge(settings->store.state_dir, cli->purge_domain, cli->purge_all);
  }
  return run(*cli, std::move(*settings));
}

}  // namespace

int main(int argc, char** argv) {
  // First, before anything can be cut short: a stop during start-up must end in a clean
  // exit, not death by signal (see signals.hpp).
  mtasts::net::holdSignals();
  try {
    return mainImpl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mtastsd: fatal: %s\n", e.what());
    return ExitOsError;
  }
}
