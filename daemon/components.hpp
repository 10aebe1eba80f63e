// The daemon's components, in the order they bind, start, drain and flush. Adding a
// component (the TLS-RPT collector, the report sender, the metrics listener) is one line in
// addComponents() (components.cpp): its settings section, its own class.
#pragma once

#include "daemon/settings.hpp"

namespace mtasts::daemon {

class Runtime;

void addComponents(Runtime& runtime, const Settings& settings);

}  // namespace mtasts::daemon
