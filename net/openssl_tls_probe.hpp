// OpensslTlsProber: TlsProber on the daemon's libevent loop. One probe = one non-blocking
// TCP connect to a numeric address, for SMTP a plain bufferevent for the greeting, EHLO and
// STARTTLS (each reply read by net/smtp_reply.hpp, bounded; bytes after the 220 to STARTTLS
// refused), then bufferevent_openssl on the same socket (TLS 1.0 or newer so that old servers
// are still seen, SNI, every PKIX problem collected by net/tls_peer.hpp instead of failing),
// then QUIT. One deadline bounds the whole probe. Owns one SSL_CTX (trusted roots from
// ca_file, or OpenSSL's default paths); borrows the event_base, which must outlive the
// prober. Destroying the prober cancels every probe. Callbacks follow common/pending.hpp.
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"
#include "net/tls_probe.hpp"

#include <memory>
#include <string>
#include <unordered_set>

namespace mtasts::net {

class TlsProbeRun;

class OpensslTlsProber final : public TlsProber {
 public:
  static Result<std::unique_ptr<OpensslTlsProber>> create(event_base* base, const std::string& ca_file);
  ~OpensslTlsProber() override;
  OpensslTlsProber(const OpensslTlsProber&) = delete;
  OpensslTlsProber& operator=(const OpensslTlsProber&) = delete;

  RequestHandle probe(TlsProbeRequest request, Callback done) override;

 private:
  friend class TlsProbeRun;
  OpensslTlsProber(event_base* base, SslCtxPtr ctx) : base_(base), ctx_(std::move(ctx)) {}

  event_base* base_;
  SslCtxPtr ctx_;
  std::unordered_set<TlsProbeRun*> live_;
};

}  // namespace mtasts::net
