#include "tlsrpt/status_command.hpp"

#include "cache/lmdb_env.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/status_format.hpp"

namespace mtasts::tlsrpt {

Result<std::string> tlsrptStatusReport(const std::string& state_dir, std::optional<UtcDay> day, bool json) {
  cache::LmdbOptions options;
  options.dir = state_dir;
  options.read_only = true;
  auto env = cache::LmdbEnv::open(options);
  if (!env) return Unexpected{std::move(env).error()};
  StatusInput status;
  auto store = DayStore::attach(std::move(*env));
  if (store) {
    auto read = readStatus(**store, day);
    if (!read) return Unexpected{std::move(read).error()};
    status = std::move(*read);
  } else if (store.error().code != ErrorCode::NotFound) {
    return Unexpected{std::move(store).error()};
  } else if (day) {
    status.days.push_back(StatusDay{*day, {}});  // nothing stored yet: the day asked for is empty
  }
  return json ? formatStatusJson(status) : formatStatusText(status);
}

}  // namespace mtasts::tlsrpt
