#include "daemon/cli.hpp"
#include "daemon/config.hpp"
#include "sts/policy_parser.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::daemon;
using namespace std::chrono_literals;

namespace {

Settings parseOk(std::string_view text, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> errors;
  auto settings = parseConfig(text, "test.conf", overrides, errors);
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  CAPTURE(all);
  REQUIRE(settings.has_value());
  CHECK(errors.empty());
  return *settings;
}

std::vector<std::string> parseErrors(std::string_view text, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> errors;
  auto settings = parseConfig(text, "test.conf", overrides, errors);
  CHECK_FALSE(settings.has_value());
  return errors;
}

}  // namespace

TEST_CASE("every table default parses and an empty file gives the defaults") {
  const Settings s = parseOk("");
  CHECK(s == defaultSettings());
  CHECK(s.server.listen == std::vector<std::string>{"inet:127.0.0.1:8461"});
  CHECK(s.server.unix_socket_mode == 0666);
  CHECK(s.server.max_query_size == 10000);
  CHECK(s.server.max_reply_size == 100000);
  CHECK(s.server.idle_timeout == 60s);
  CHECK(s.server.tlsrpt_map_names == std::vector<std::string>{"postfix-tlsrpt"});
  CHECK(s.policy.on_resolve_timeout == OnResolveTimeout::NotFound);
  CHECK(s.dns.dns_servers.empty());
  CHECK(s.policy.max_idle == 30 * 24h);
  CHECK(s.store.lmdb_map_size == 64u * 1024 * 1024);
  CHECK(s.process.user == "mtastsd");
  CHECK_FALSE(s.process.allow_root);
}

TEST_CASE("every key is declared once and has help text") {
  std::set<std::string_view> names;
  for (const auto& key : configKeys()) {
    CAPTURE(key.name);
    CHECK(names.insert(key.name).second);
    CHECK_FALSE(key.help.empty());
    CHECK(findKey(key.name) == &key);
  }
  CHECK(names.size() == 71);
  REQUIRE(findKey("user") != nullptr);
  CHECK_FALSE(findKey("user")->reloadable);
  REQUIRE(findKey("allow_root") != nullptr);
  CHECK_FALSE(findKey("allow_root")->reloadable);
}

TEST_CASE("good values of every type are parsed into typed fields") {
  const Settings s = parseOk(
      "listen = inet:[::1]:8461, unix:/run/mtastsd/sock inet:0.0.0.0:0\n"
      "unix_socket_mode = 0660\n"
      "unix_socket_owner = postfix\n"
      "state_dir = ./state\n"
      "log_level = debug\n"
      "max_query_size = 4k\n"
      "max_connections = 7\n"
      "idle_timeout = 2m\n"
      "query_wait_timeout = 250ms\n"
      "on_resolve_timeout = TEMP\n"
      "strict_testing = yes\n"
      "tlsrpt_map_names =\n"
      "lmdb_map_size = 1G\n"
      "fetch_retry_interval = 600\n");
  CHECK(s.server.listen == std::vector<std::string>{"inet:[::1]:8461", "unix:/run/mtastsd/sock", "inet:0.0.0.0:0"});
  CHECK(s.server.unix_socket_mode == 0660);
  CHECK(s.server.unix_socket_owner == "postfix");
  CHECK(s.store.state_dir == "./state");
  CHECK(s.process.log_level == "debug");
  CHECK(s.server.max_query_size == 4096);
  CHECK(s.server.max_connections == 7);
  CHECK(s.server.idle_timeout == 120s);
  CHECK(s.policy.query_wait_timeout == 250ms);
  CHECK(s.policy.on_resolve_timeout == OnResolveTimeout::Temp);
  CHECK(s.policy.strict_testing);
  CHECK(s.server.tlsrpt_map_names.empty());
  CHECK(s.store.lmdb_map_size == 1024u * 1024 * 1024);
  CHECK(s.policy.fetch_retry_interval == 10min);
}

TEST_CASE("user and allow_root are parsed and a 64k map is the smallest allowed") {
  const Settings s = parseOk("user = mtastsd\nallow_root = yes\nlmdb_map_size = 64k\n");
  CHECK(s.process.user == "mtastsd");
  CHECK(s.process.allow_root);
  CHECK(s.store.lmdb_map_size == 64u * 1024);
  CHECK(parseOk("user =\n").process.user.empty());  // empty = do not switch
}

TEST_CASE("max_policy_size goes up to the policy parser's own limit and no further") {
  // A larger value would download bodies that parsePolicy then refuses (RFC 8461 3.3: 64 KiB).
  CHECK(parseOk("max_policy_size = 64k\n").policy.max_policy_size == sts::MaxPolicyBodyBytes);
  CHECK(parseOk("max_policy_size = 1k\n").policy.max_policy_size == 1024);
  CHECK(defaultSettings().policy.max_policy_size == sts::MaxPolicyBodyBytes);
  for (const char* value : {"65537", "128k", "1M", "1023", "64"}) {
    CAPTURE(value);
    const auto errors = parseErrors(std::string("max_policy_size = ") + value + "\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("out of range 1024..65536") != std::string::npos);
  }
}

TEST_CASE("a bad value of every type is reported with file, line and key") {
  struct Case { std::string line; std::string want; };
  const Case cases[] = {
      {"listen = tcp:1.2.3.4:25", "must start with inet: or unix:"},
      {"listen = inet:1.2.3.4:99999", "port must be a number"},
      {"listen = inet:::1:25", "brackets"},
      {"listen = unix:relative.sock", "absolute path"},
      {"listen =", "needs 1 to 64 entries"},
      {"unix_socket_mode = 0999", "not an octal mode"},
      {"unix_socket_mode = 17777", "out of range"},
      {"state_dir =", "must not be empty"},
      {"log_level = loud", "is not one of"},
      {"on_resolve_timeout = notfound", "is not one of"},
      {"max_query_size = 0", "out of range"},
      {"max_query_size = 2M", "out of range"},
      {"max_query_size = 10x", "unknown size unit"},
      {"max_reply_size = 200000", "out of range"},
      {"max_connections = -1", "not a number"},
      {"max_connections = 1k", "not a whole number"},
      {"max_pipelined = 99999999999999999999999", "too large"},
      {"idle_timeout = soon", "not a duration"},
      {"idle_timeout = 500ms", "milliseconds are not accepted"},
      {"idle_timeout = 99999999999999999d", "too large"},
      {"fetch_retry_interval = 4m", "out of range"},
      {"strict_testing = true", "not yes or no"},
      {"allow_root = 1", "not yes or no"},
      {"lmdb_map_size = 63k", "out of range"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto errors = parseErrors("# comment\n" + c.line + "\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].starts_with("test.conf:2: "));
    CHECK(errors[0].find(c.want) != std::string::npos);
  }
}

TEST_CASE("every problem in a file is reported, not only the first") {
  auto errors = parseErrors(
      "nosuch_key = 1\n"
      "  \n"
      "max_connections = many\n"
      "no equals sign here\n"
      "= value without key\n"
      "log_level = info\n",
      {"other_unknown=2", "idle_timeout=x"});
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  CAPTURE(all);
  REQUIRE(errors.size() == 6);
  CHECK(errors[0] == "test.conf:1: unknown configuration key \"nosuch_key\"");
  CHECK(errors[1].starts_with("test.conf:3: max_connections: "));
  CHECK(errors[2].starts_with("test.conf:4: missing '='"));
  CHECK(errors[3].starts_with("test.conf:5: missing key name"));
  CHECK(errors[4] == "-o other_unknown=2: unknown configuration key \"other_unknown\"");
  CHECK(errors[5].starts_with("-o idle_timeout=x: idle_timeout: "));
}

TEST_CASE("continuation lines, comments and blank lines follow main.cf rules") {
  const Settings s = parseOk(
      "# a comment\n"
      "\n"
      "listen = inet:127.0.0.1:1,\n"
      "    inet:127.0.0.1:2\n"
      "  # a comment inside a continued value is skipped\n"
      "\tinet:127.0.0.1:3\r\n"
      "log_level=warn\n");
  CHECK(s.server.listen == std::vector<std::string>{"inet:127.0.0.1:1", "inet:127.0.0.1:2", "inet:127.0.0.1:3"});
  CHECK(s.process.log_level == "warn");
  auto errors = parseErrors("  indented = 1\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "test.conf:1: continuation line without a preceding key");
}

TEST_CASE("later values win: duplicates in the file, then -o overrides") {
  const Settings s = parseOk("max_connections = 5\nmax_connections = 6\nlog_level = warn\n",
                             {"max_connections=7", "max_connections = 8"});
  CHECK(s.server.max_connections == 8);
  CHECK(s.process.log_level == "warn");
}

TEST_CASE("formatSettings prints every key and parses back to the same settings") {
  const Settings s = parseOk("idle_timeout = 90\nquery_wait_timeout = 1500ms\nmax_policy_size = 32k\n"
                             "listen = inet:127.0.0.1:1 unix:/tmp/x\nunix_socket_mode = 0600\n");
  const std::string text = formatSettings(s);
  for (const auto& key : configKeys()) {
    CAPTURE(key.name);
    const bool listed = ("\n" + text).find("\n" + std::string(key.name) + " =") != std::string::npos;
    CHECK(listed);
  }
  CHECK(text.find("idle_timeout = 90s\n") != std::string::npos);
  CHECK(text.find("query_wait_timeout = 1500ms\n") != std::string::npos);
  CHECK(text.find("unix_socket_mode = 0600\n") != std::string::npos);
  CHECK(parseOk(text) == s);
}

TEST_CASE("reload applies reloadable keys and reports the others") {
  const Settings running = defaultSettings();
  const Settings fresh = parseOk("log_level = debug\nmax_connections = 3\nlisten = inet:127.0.0.1:9\n");
  CHECK(changedKeys(running, fresh) == std::vector<std::string>{"listen", "log_level", "max_connections"});
  std::vector<std::string> applied;
  std::vector<std::string> ignored;
  const Settings merged = mergeReloadable(running, fresh, applied, ignored);
  CHECK(applied == std::vector<std::string>{"log_level", "max_connections"});
  CHECK(ignored == std::vector<std::string>{"listen"});
  CHECK(merged.process.log_level == "debug");
  CHECK(merged.server.max_connections == 3);
  CHECK(merged.server.listen == running.server.listen);
}

TEST_CASE("the roff key list names every key") {
  const std::string roff = configTableRoff();
  for (const auto& key : configKeys()) {
    CAPTURE(key.name);
    CHECK(roff.find(".B " + std::string(key.name) + "\n") != std::string::npos);
  }
}

TEST_CASE("command line options are parsed like a Postfix daemon's") {
  auto cli = parseCommandLine({"-c", "/x.conf", "-o", "a=1", "-ob=2", "-v", "--check-config"});
  REQUIRE(cli.has_value());
  CHECK(cli->config_path == "/x.conf");
  CHECK(cli->config_path_given);
  CHECK(cli->overrides == std::vector<std::string>{"a=1", "b=2"});
  CHECK(cli->verbose);
  CHECK(cli->command == Command::CheckConfig);
  auto defaults = parseCommandLine({});
  REQUIRE(defaults.has_value());
  CHECK(defaults->config_path == DefaultConfigPath);
  CHECK_FALSE(defaults->config_path_given);
  CHECK(defaults->command == Command::Run);
  CHECK_FALSE(parseCommandLine({"-o"}).has_value());
  CHECK_FALSE(parseCommandLine({"--bogus"}).has_value());
}

TEST_CASE("each invocation is one command; --help and --version win, acting commands exclude each other") {
  struct Case { std::vector<std::string> args; bool ok; Command command; std::string domain; };
  const Case cases[] = {
      {{}, true, Command::Run, ""},
      {{"--query", "a.test", "--json"}, true, Command::Query, "a.test"},
      {{"--dump", "--json"}, true, Command::Dump, ""},
      {{"--purge", "b.test"}, true, Command::Purge, "b.test"},
      {{"--purge-all"}, true, Command::PurgeAll, ""},
      {{"--check-config", "--check-config"}, true, Command::CheckConfig, ""},
      {{"--version", "--dump"}, true, Command::Version, ""},
      {{"--dump", "--help"}, true, Command::Help, ""},
      {{"--print-config-table-roff"}, true, Command::PrintConfigTableRoff, ""},
      {{"--dump", "--purge-all"}, false, Command::Run, ""},
      {{"--help", "--query", "a.test", "--check-config"}, false, Command::Run, ""},
      {{"--json"}, false, Command::Run, ""},
      {{"--purge", "b.test", "--json"}, false, Command::Run, ""},
      {{"--query"}, false, Command::Run, ""},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    CAPTURE(joined);
    auto cli = parseCommandLine(c.args);
    REQUIRE(cli.has_value() == c.ok);
    if (!c.ok) continue;
    CHECK(cli->command == c.command);
    CHECK(cli->domain == c.domain);
  }
}

TEST_CASE("a missing config file is empty only when it was not asked for") {
  auto optional = readConfigFile("/nonexistent/mtastsd.conf", false);
  REQUIRE(optional.has_value());
  CHECK(optional->empty());
  auto required = readConfigFile("/nonexistent/mtastsd.conf", true);
  REQUIRE_FALSE(required.has_value());
  CHECK(required.error().detail.find("/nonexistent/mtastsd.conf") != std::string::npos);
}

TEST_CASE("every enum key takes each of its choices and prints it back, whatever it is stored as") {
  for (const auto& key : configKeys()) {
    if (key.type != KeyType::Enum) continue;
    std::string_view rest = key.choices;
    while (!rest.empty()) {
      const auto bar = rest.find('|');
      const std::string choice(rest.substr(0, bar));
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      CAPTURE(key.name);
      CAPTURE(choice);
      const Settings s = parseOk("", {std::string(key.name) + "=" + choice});
      CHECK(formatValue(s, key) == choice);
    }
  }
}

TEST_CASE("a key's validator judges each list item") {
  const KeySpec* listen = findKey("listen");
  REQUIRE(listen != nullptr);
  REQUIRE(static_cast<bool>(listen->validate));
  CHECK(listen->validate("inet:127.0.0.1:1").empty());
  CHECK(listen->validate("tcp:1").find("must start with inet: or unix:") != std::string::npos);
  std::vector<std::string> errors;
  CHECK_FALSE(parseConfig("listen = inet:127.0.0.1:1, tcp:1\n", "f", {}, errors).has_value());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("f:1: listen: listen entry \"tcp:1\"") != std::string::npos);
}

TEST_CASE("metrics_listen is off by default and takes an inet address with a port only") {
  CHECK(parseOk("").metrics.metrics_listen.empty());
  CHECK(parseOk("metrics_listen = inet:127.0.0.1:9461\n").metrics.metrics_listen == "inet:127.0.0.1:9461");
  CHECK(parseOk("metrics_listen = inet:[::1]:9461\n").metrics.metrics_listen == "inet:[::1]:9461");
  struct Case {
    const char* value;
    const char* why;
  };
  const Case bad[] = {{"unix:/run/mtastsd/metrics", "inet:HOST:PORT"},
                      {"inet:127.0.0.1:0", "needs a port"},
                      {"127.0.0.1:9461", "inet:"}};
  for (const auto& c : bad) {
    CAPTURE(c.value);
    const auto errors = parseErrors(std::string("metrics_listen = ") + c.value + "\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find(c.why) != std::string::npos);
  }
}

TEST_CASE("log_target defaults to auto and needs a restart") {
  CHECK(parseOk("").process.log_target == "auto");
  CHECK(parseOk("log_target = syslog\n").process.log_target == "syslog");
  CHECK(parseErrors("log_target = journald\n").size() == 1);
  REQUIRE(findKey("log_target") != nullptr);
  CHECK_FALSE(findKey("log_target")->reloadable);
  REQUIRE(findKey("metrics_listen") != nullptr);
  CHECK_FALSE(findKey("metrics_listen")->reloadable);
}
