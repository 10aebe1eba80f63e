// TlsProber: connects to one address and reports what a TLS handshake there shows
// (net/tls_peer.hpp), either at once (an HTTPS policy host) or after SMTP's STARTTLS (an MX
// on port 25: greeting, EHLO, STARTTLS, handshake, QUIT). It judges nothing: it never fails a
// handshake over the certificate, it reports it. For `mtastsd --check-domain`. The real one
// is net/openssl_tls_probe.hpp; tests use a fake. Callbacks follow common/pending.hpp.
#pragma once

#include "common/pending.hpp"
#include "net/tls_peer.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mtasts::net {

enum class TlsProbeMode {
  DirectTls,     // TLS right after the TCP connect (HTTPS)
  SmtpStartTls,  // SMTP greeting, EHLO, STARTTLS, then TLS (RFC 3207)
};

struct TlsProbeRequest {
  std::string host;     // SNI and the name the certificate must be valid for
  std::string address;  // numeric IPv4 or IPv6 ("[v6]" accepted)
  std::uint16_t port = 25;
  TlsProbeMode mode = TlsProbeMode::SmtpStartTls;
  std::string ehlo_name;  // SmtpStartTls: the name sent with EHLO
  std::chrono::milliseconds timeout{30'000};  // the whole probe, every step included
};

// How far the probe got.
enum class TlsProbeStage { Connect, Greeting, Ehlo, StartTls, Handshake, Done };
std::string_view tlsProbeStageName(TlsProbeStage stage) noexcept;

enum class TlsProbeOutcome {
  TlsEstablished,  // the handshake completed: `tls` holds what it showed
  NoStartTls,      // SMTP: the EHLO reply does not offer STARTTLS
  Failed,          // stopped at `stage`: `detail` says why
};

struct TlsProbeResult {
  TlsProbeOutcome outcome = TlsProbeOutcome::Failed;
  TlsProbeStage stage = TlsProbeStage::Connect;  // Failed: where; otherwise Done
  std::string detail;    // "connect failed: Connection refused", "greeting 554 go away", ...
  std::string greeting;  // SMTP: the greeting's first line (escaped, truncated)
  TlsSessionFacts tls;   // TlsEstablished
};

class TlsProber {
 public:
  using Callback = std::function<void(TlsProbeResult)>;
  virtual ~TlsProber() = default;
  virtual RequestHandle probe(TlsProbeRequest request, Callback done) = 0;
};

}  // namespace mtasts::net
