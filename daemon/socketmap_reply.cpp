// socketmap_reply: the one mapping from a PolicySource outcome to a socketmap reply (see
// socketmap_reply.hpp). Pure functions; logs only when a verdict cannot be used.
#include "daemon/socketmap_reply.hpp"

#include "common/log.hpp"
#include "postfix/verdict.hpp"

namespace mtasts::daemon {
namespace {

using postfix::ReplyStatus;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("server");
  return logger;
}

}  // namespace

ReplyStatus replyStatusFor(const std::variant<Decision::Kind, ErrorCode>& outcome) {
  if (const auto* kind = std::get_if<Decision::Kind>(&outcome)) {
    switch (*kind) {
      case Decision::Kind::Enforce: return ReplyStatus::Ok;
      case Decision::Kind::NoPolicy: return ReplyStatus::NotFound;
      case Decision::Kind::TempFail: return ReplyStatus::Temp;
    }
    return ReplyStatus::Temp;
  }
  switch (std::get<ErrorCode>(outcome)) {
    case ErrorCode::InvalidInput: return ReplyStatus::Perm;  // the request itself is bad
    case ErrorCode::NotFound: return ReplyStatus::NotFound;
    case ErrorCode::Timeout: return ReplyStatus::Timeout;
    case ErrorCode::TooLarge:
    case ErrorCode::Temporary:
    case ErrorCode::Io:
    case ErrorCode::Internal: return ReplyStatus::Temp;
  }
  return ReplyStatus::Temp;
}

void appendReplyForDecision(std::string& out, const Decision& d, bool tlsrpt, std::size_t max_reply_size) {
  const ReplyStatus status = replyStatusFor(d.kind);
  if (status != ReplyStatus::Ok) return postfix::appendReply(out, status, d.reason);
  if (!d.policy) {
    return postfix::appendReply(out, replyStatusFor(ErrorCode::Internal), "internal error: enforce without policy");
  }
  postfix::StsVerdictInput in;
  in.policy_domain = d.domain;
  in.mx = &d.policy->mx;
  in.policy_lines = &d.policy->lines;
  const std::size_t base = out.size();
  for (auto flavour : {postfix::VerdictFlavour::TlsRpt, postfix::VerdictFlavour::Plain}) {
    if (flavour == postfix::VerdictFlavour::TlsRpt && !tlsrpt) continue;
    out.resize(base);
    postfix::appendReply(out, ReplyStatus::Ok, {});
    if (!postfix::appendStsVerdict(out, in, flavour)) continue;
    if (out.size() - base <= max_reply_size) return;
    log()->warn("verdict exceeds max_reply_size domain={} size={} max_reply_size={} flavour={}",
                escapeForLog(d.domain), out.size() - base, max_reply_size,
                flavour == postfix::VerdictFlavour::TlsRpt ? "tlsrpt" : "plain");
  }
  // No usable verdict: an enforce policy Postfix cannot take must not defer all mail to
  // the domain forever; answer as if there were no policy, loudly.
  out.resize(base);
  log()->warn("no usable verdict for policy, answering NOTFOUND domain={}", escapeForLog(d.domain));
  postfix::appendReply(out, ReplyStatus::NotFound, {});
}

std::string replyForDecision(const Decision& d, bool tlsrpt, std::size_t max_reply_size) {
  std::string out;
  appendReplyForDecision(out, d, tlsrpt, max_reply_size);
  return out;
}

}  // namespace mtasts::daemon
