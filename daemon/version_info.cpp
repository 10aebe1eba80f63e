#include "daemon/version_info.hpp"

#include <event2/event.h>
#include <getdns/getdns_extra.h>
#include <idn2.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/version.h>

namespace mtasts::daemon {
namespace {

const char* orUnknown(const char* text) { return text != nullptr ? text : "unknown"; }

}  // namespace

std::string versionText() {
  std::string out = fmt::format("mtastsd {}\n", MTASTS_VERSION);
  out += fmt::format("  {}\n", orUnknown(OpenSSL_version(OPENSSL_VERSION)));
  out += fmt::format("  libevent {}\n", orUnknown(event_get_version()));
  out += fmt::format("  getdns {} (API {})\n", orUnknown(getdns_get_version()), orUnknown(getdns_get_api_version()));
  out += fmt::format("  {}\n", orUnknown(mdb_version(nullptr, nullptr, nullptr)));
  out += fmt::format("  libidn2 {}\n", orUnknown(idn2_check_version(nullptr)));
  out += fmt::format("  spdlog {}.{}.{} (built with)\n", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  return out;
}

}  // namespace mtasts::daemon
