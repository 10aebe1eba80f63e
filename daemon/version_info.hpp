// `mtastsd --version`: the daemon's version and those of the libraries it runs on, as their
// runtime version functions report them (the shared library actually loaded, not the headers
// it was built against): OpenSSL, libevent, getdns, LMDB, libidn2; spdlog as built. Pure
// apart from those calls; no errors.
#pragma once

#include <string>

namespace mtasts::daemon {

// "mtastsd 0.1.0\n" then one "  <library> <version>" line per library.
std::string versionText();

}  // namespace mtasts::daemon
