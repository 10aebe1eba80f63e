// TlsRptComponent: TLS-RPT collection in the running daemon (tlsrpt/collection.hpp holds the
// logic): bind() makes the datagram socket as root, start() attaches the day store to the
// Runtime's env, starts the committer, the socket reader and the mail-log follower, joins the
// policy events (own fetch failures) and registers the metrics; drain() stops the sources,
// flush() makes the final commit. Reads settings.tlsrpt, and strict_testing of
// settings.policy (what the policy engine answered decides the policy a mail-log session was
// under). Loop thread. TLS-RPT is reporting, never the reason mail is deferred: a socket that
// cannot be made or a store that cannot be opened is logged and collection goes on without
// it; the socketmap keeps answering Postfix.
#pragma once

#include "daemon/component.hpp"
#include "tlsrpt/collection.hpp"
#include "tlsrpt/collection_metrics.hpp"

#include <memory>

namespace mtasts::daemon {

class Runtime;

// The tlsrpt section (and the policy engine's strict_testing) as the collection's options.
tlsrpt::CollectionOptions collectionOptions(const TlsRptSettings& settings, bool strict_testing);

class TlsRptComponent final : public Component {
 public:
  TlsRptComponent(Runtime& runtime, const TlsRptSettings& settings, bool strict_testing);
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
