// TlsRptComponent: TLS-RPT collection in the running daemon (tlsrpt/collection.hpp holds the
// logic): bind() makes the datagram socket as root, start() attaches the day store to the
// Runtime's env, starts the committer, the socket reader and the mail-log follower, joins the
// policy events (own fetch failures) and registers the metrics; drain() stops the sources,
// flush() makes the final commit. Reads settings.tlsrpt, and strict_testing and the DANE
// keys (verdictRules: what the policy engine answered decides the policy a mail-log session
// was under). Loop thread. TLS-RPT is reporting, never the reason mail is deferred: a socket that
// cannot be made or a store that cannot be opened is logged and collection goes on without
// it; the socketmap keeps answering Postfix. Under systemd, the datagram socket of
// mtastsd-tlsrpt.socket whose path is tlsrpt_socket is adopted (Runtime::takeInheritedSocket).
// Metrics (sessions by source, datagrams rejected, ...) are registered only when metrics_listen
// is set.
#pragma once

#include "daemon/component.hpp"
#include "tlsrpt/collection.hpp"
#include "tlsrpt/collection_metrics.hpp"

#include <memory>

namespace mtasts::daemon {

class Runtime;

// The keys that decide the policy engine's answer from a cache entry, as the mail-log source
// needs them: strict_testing, dane = auto, dane_without_sts.
tlsrpt::VerdictRules verdictRules(const Settings& settings);
// The tlsrpt section (and those rules) as the collection's options.
tlsrpt::CollectionOptions collectionOptions(const TlsRptSettings& settings, const tlsrpt::VerdictRules& rules);

class TlsRptComponent final : public Component {
 public:
  TlsRptComponent(Runtime& runtime, const TlsRptSettings& settings, const tlsrpt::VerdictRules& rules);
  ~TlsRptComponent() override;

  std::string_view name() const override { return "tlsrpt"; }
  Result<void> bind() override;
  Result<void> start() override;
  void reload(const Settings& settings) override;
  void drain(std::function<void()> done) override;
  void flush() override;
  std::string startupFields() const override;

 private:
  Runtime& runtime_;
  TlsRptSettings settings_;
  std::unique_ptr<tlsrpt::TlsRptCollection> collection_;
  std::unique_ptr<tlsrpt::CollectionMetrics> metrics_;  // before collection_ goes
};

}  // namespace mtasts::daemon
