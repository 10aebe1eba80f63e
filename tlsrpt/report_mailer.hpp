// Mail delivery of a stored report to one mailto: destination: the RFC 8460 5.3 message
// (report_mail.hpp) with its DKIM-Signature fields (one per configured key: RSA and Ed25519
// may sign together, RFC 8463 3), and the hand-over to the MTA through `tlsrpt_sendmail`, a
// command template run as a child process from the event loop with a time bound, its exit
// status checked and its output logged. Composing is pure; SendmailMailSender runs on the
// loop (net/child_process.hpp). Errors: Result with a reason for the delivery record.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/pending.hpp"
#include "common/result.hpp"
#include "net/child_process.hpp"
#include "tlsrpt/dkim_signer.hpp"
#include "tlsrpt/report_state_codec.hpp"

namespace mtasts::tlsrpt {

struct DkimSigner {
  std::shared_ptr<const DkimKey> key;
  std::string selector;
};

struct MailIdentity {
  std::string from;               // tlsrpt_report_from: in the submitter domain
  std::string organization_name;  // named in the text part
  std::string dkim_domain;        // d= (tlsrpt_dkim_domain, default the submitter)
  std::vector<DkimSigner> signers;  // none: the MTA's signer must sign (man page)
};

// The whole message (CRLF lines) for destination `index` of the report of `domain` on `day`:
// Message-ID and MIME boundary derived from the report-id and the index (the same on every
// retry), Date and DKIM t= from `now`. InvalidInput when a value cannot go into a mail.
Result<std::string> composeReportMail(const StoredReport& report, UtcDay day, std::string_view domain,
                                      const ReportUri& rua, int index, const MailIdentity& identity,
                                      UnixSeconds now);

// The default tlsrpt_sendmail. FROM and TO are words replaced by the envelope addresses.
inline constexpr std::string_view DefaultSendmailCommand = "/usr/sbin/sendmail -i -f FROM -- TO";

// Checks a tlsrpt_sendmail value: words split at blanks (no shell, no quoting), the first an
// absolute path, the word TO present. "" when fine, else why not.
std::string sendmailCommandProblem(std::string_view command);
// The argv for one mail: the template's words with FROM and TO replaced. InvalidInput when
// the template is bad or an address is unusable or starts with '-' (never an option).
Result<std::vector<std::string>> sendmailArgv(std::string_view command, std::string_view from, std::string_view to);

// CRLF line ends to LF, as sendmail(1) expects on its input (it writes CRLF on the wire,
// where the DKIM signature is checked).
std::string toUnixLineEnds(std::string_view message);

class MailSender {
 public:
  using Callback = std::function<void(Result<void>)>;
  virtual ~MailSender() = default;
  // Hands `message` (CRLF lines) to the MTA for `to`, envelope sender `from`. Callbacks
  // follow common/pending.hpp.
  virtual RequestHandle send(const std::string& from, const std::string& to, std::string message,
                             Callback done) = 0;
};

// tlsrpt_sendmail as a child process: exit 0 is accepted; anything else (an exit code, a
// signal, the time bound) is a failure with the command's output in its reason. Its output is
// logged (at warn on failure, info otherwise).
class SendmailMailSender final : public MailSender {
 public:
  SendmailMailSender(net::ChildProcessRunner& runner, std::string command, std::chrono::milliseconds timeout);
  RequestHandle send(const std::string& from, const std::string& to, std::string message, Callback done) override;

 private:
  net::ChildProcessRunner& runner_;
  std::string command_;
  std::chrono::milliseconds timeout_;
};

}  // namespace mtasts::tlsrpt
