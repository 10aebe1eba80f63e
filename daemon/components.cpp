#include "daemon/components.hpp"

#include "daemon/metrics_component.hpp"
#include "daemon/policy_component.hpp"
#include "daemon/report_component.hpp"
#include "daemon/runtime.hpp"
#include "daemon/server_component.hpp"
#include "daemon/tlsrpt_component.hpp"

#include <memory>

namespace mtasts::daemon {

void addComponents(Runtime& runtime, const Settings& settings) {
  auto& policy = runtime.add(std::make_unique<PolicyComponent>(runtime, settings.policy, settings.dane));
  runtime.add(std::make_unique<ServerComponent>(runtime, settings.server, policy));
  runtime.add(std::make_unique<TlsRptComponent>(runtime, settings.tlsrpt, verdictRules(settings)));
  runtime.add(std::make_unique<ReportComponent>(runtime, settings.tlsrpt));
  runtime.add(std::make_unique<MetricsComponent>(runtime, settings.metrics));  // last: sees every store
}

}  // namespace mtasts::daemon
