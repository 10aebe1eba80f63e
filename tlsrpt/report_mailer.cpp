#include "tlsrpt/report_mailer.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/log.hpp"
#include "tlsrpt/addr_spec.hpp"
#include "tlsrpt/report_mail.hpp"
#include "tlsrpt/report_naming.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxLoggedOutput = 400;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = moduleLogger("tlsrpt");
  return l;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

}  // namespace

Result<std::string> composeReportMail(const StoredReport& report, UtcDay day, std::string_view domain,
                                      const ReportUri& rua, int index, const MailIdentity& identity,
                                      UnixSeconds now) {
  ReportMailParams p;
  p.from = identity.from;
  p.to = rua.address;
  p.policy_domain = std::string(domain);
  p.submitter = report.submitter;
  p.report_id = report.report_id;
  p.message_id = makeMessageId(report.report_id, static_cast<std::size_t>(index));
  p.organization_name = identity.organization_name;
  p.day = day;
  p.date = now;
  const std::string unique = fileNameUniqueId(report.report_id);
  p.boundary = makeMimeBoundary((unique.empty() ? std::string("report") : unique) + "_" + std::to_string(index));
  p.file_name = report.file_name;
  p.gzip_report = report.gzip;
  auto mail = buildReportMail(p);
  if (!mail || identity.signers.empty()) return mail;
  std::string fields;
  for (const auto& signer : identity.signers) {
    DkimSignOptions options;
    options.domain = identity.dkim_domain.empty() ? report.submitter : identity.dkim_domain;
    options.selector = signer.selector;
    options.time = now;
    auto field = dkimSignatureField(*mail, *signer.key, options);
    if (!field) return Unexpected{std::move(field).error()};
    fields += *field;
  }
  return fields + *mail;
}

std::string sendmailCommandProblem(std::string_view command) {
  const auto argv = words(command);
  if (argv.empty()) return "is empty";
  if (argv[0].empty() || argv[0][0] != '/') return "must start with an absolute path";
  bool to = false;
  for (const auto& w : argv) to = to || w == "TO";
  if (!to) return "has no word TO (the recipient)";
  return "";
}

Result<std::vector<std::string>> sendmailArgv(std::string_view command, std::string_view from, std::string_view to) {
  if (const std::string problem = sendmailCommandProblem(command); !problem.empty()) {
    return fail(ErrorCode::InvalidInput, "tlsrpt_sendmail " + problem);
  }
  for (const std::string_view address : {from, to}) {
    if (const std::string problem = addrSpecProblem(address); !problem.empty()) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("\"{}\" is not a usable address: {}", escapeForLog(address, 80), problem));
    }
    if (address.front() == '-') {
      return fail(ErrorCode::InvalidInput, fmt::format("\"{}\" starts with '-'", escapeForLog(address, 80)));
    }
  }
  auto argv = words(command);
  for (auto& w : argv) {
    if (w == "FROM") {
      w = std::string(from);
    } else if (w == "TO") {
      w = std::string(to);
    }
  }
  return argv;
}

std::string toUnixLineEnds(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
    out += message[i];
  }
  return out;
}

SendmailMailSender::SendmailMailSender(net::ChildProcessRunner& runner, std::string command,
                                       std::chrono::milliseconds timeout)
    : runner_(runner), command_(std::move(command)), timeout_(timeout) {}

RequestHandle SendmailMailSender::send(const std::string& from, const std::string& to, std::string message,
                                       Callback done) {
  auto argv = sendmailArgv(command_, from, to);
  net::ChildCommand command;
  if (argv) command.argv = std::move(*argv);
  // An unusable command still goes through the runner, which reports it from the loop (the
  // callback never runs inside send()).
  command.input = toUnixLineEnds(message);
  command.timeout = timeout_;
  const std::string program = command.argv.empty() ? std::string("(none)") : command.argv[0];
  std::string argv_error = argv ? std::string() : argv.error().detail;
  return runner_.run(std::move(command), [done = std::move(done), to, program,
                                          argv_error = std::move(argv_error)](net::ChildResult r) {
    if (!argv_error.empty()) {
      done(fail(ErrorCode::InvalidInput, argv_error));
      return;
    }
    const std::string output = escapeForLog(r.output, MaxLoggedOutput);
    if (r.success()) {
      if (!r.output.empty()) logger()->info("sendmail output to={} output={}", escapeForLog(to), output);
      done({});
      return;
    }
    logger()->warn("sendmail failed to={} command={} result={} output={}", escapeForLog(to), escapeForLog(program),
                   r.describe(), output);
    done(fail(r.outcome == net::ChildOutcome::TimedOut ? ErrorCode::Timeout : ErrorCode::Temporary,
              fmt::format("sendmail {}{}{}", r.describe(), r.output.empty() ? "" : ": ",
                          escapeForLog(r.output, 200))));
  });
}

}  // namespace mtasts::tlsrpt
