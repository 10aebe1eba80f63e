// `mtastsd --check-domain DOMAIN [--json] [--no-smtp]`, a row of the dispatch table
// (commands.cpp): with the configured DNS, CA file and check_* keys, one pre-flight check of
// the domain's own publication (domain_check_gather.hpp gathers, domain_check.hpp judges),
// printed on stdout. Exit 0 ready for enforce, 1 testing only, 2 not ready, 64 not a domain
// name, 78 the clients cannot be set up. Main thread; runs its own event loop until every
// lookup and probe answered (each is bounded).
#pragma once

#include "daemon/cli.hpp"
#include "daemon/settings.hpp"

namespace mtasts::daemon {

int runCheckDomainCommand(const CommandLine& cli, const Settings& settings);

}  // namespace mtasts::daemon
