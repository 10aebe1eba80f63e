#include "server/socketmap_reply.hpp"

#include "common/log.hpp"
#include "postfix/verdict.hpp"

namespace mtasts::server {
namespace {

using postfix::PolicyAnswer;
using postfix::ReplyStatus;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = moduleLogger("server");
  return logger;
}

}  // namespace

ReplyStatus replyStatusFor(const std::variant<PolicyAnswer::Kind, ErrorCode>& outcome) {
  if (const auto* kind = std::get_if<PolicyAnswer::Kind>(&outcome)) {
    switch (*kind) {
      case PolicyAnswer::Kind::Enforce:
      case PolicyAnswer::Kind::DaneOnly:
      case PolicyAnswer::Kind::Dane: return ReplyStatus::Ok;
      case PolicyAnswer::Kind::NoPolicy: return ReplyStatus::NotFound;
      case PolicyAnswer::Kind::TempFail: return ReplyStatus::Temp;
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

void appendReplyForAnswer(std::string& out, const PolicyAnswer& a, bool tlsrpt, std::size_t max_reply_size) {
  const ReplyStatus status = replyStatusFor(a.kind);
  if (status != ReplyStatus::Ok) return postfix::appendReply(out, status, a.reason);
  if (a.kind == PolicyAnswer::Kind::Dane) {
    // Postfix's own RFC 7672 level; it reports DANE sessions itself (policy_type=tlsa).
    postfix::appendReply(out, ReplyStatus::Ok, "dane");
    return;
  }
  const bool dane = a.kind == PolicyAnswer::Kind::DaneOnly;
  const std::size_t base = out.size();
  if (dane && a.mx == nullptr) {
    // DANE without an MTA-STS policy: the bare level is a whole verdict.
    postfix::appendReply(out, ReplyStatus::Ok, "dane-only");
    return;
  }
  if (!a.mx) {
    return postfix::appendReply(out, replyStatusFor(ErrorCode::Internal), "internal error: enforce without policy");
  }
  postfix::StsVerdictInput in;
  in.policy_domain = a.domain;
  in.level = dane ? "dane-only" : "secure";
  in.mx = a.mx;
  in.policy_lines = a.policy_lines;
  for (auto flavour : {postfix::VerdictFlavour::TlsRpt, postfix::VerdictFlavour::Plain}) {
    if (flavour == postfix::VerdictFlavour::TlsRpt && !tlsrpt) continue;
    out.resize(base);
    postfix::appendReply(out, ReplyStatus::Ok, {});
    if (!postfix::appendStsVerdict(out, in, flavour)) continue;
    if (out.size() - base <= max_reply_size) return;
    log()->warn("verdict exceeds max_reply_size domain={} size={} max_reply_size={} flavour={}",
                escapeForLog(a.domain), out.size() - base, max_reply_size,
                flavour == postfix::VerdictFlavour::TlsRpt ? "tlsrpt" : "plain");
  }
  out.resize(base);
  if (dane) {
    // A DANE domain must never fall back to no policy: the bare level needs no patterns.
    log()->warn("no usable dane-only verdict with policy, answering bare dane-only domain={}", escapeForLog(a.domain));
    postfix::appendReply(out, ReplyStatus::Ok, "dane-only");
    return;
  }
  // No usable verdict: an enforce policy Postfix cannot take must not defer all mail to
  // the domain forever; answer as if there were no policy, loudly.
  log()->warn("no usable verdict for policy, answering NOTFOUND domain={}", escapeForLog(a.domain));
  postfix::appendReply(out, ReplyStatus::NotFound, {});
}

std::string replyForAnswer(const PolicyAnswer& a, bool tlsrpt, std::size_t max_reply_size) {
  std::string out;
  appendReplyForAnswer(out, a, tlsrpt, max_reply_size);
  return out;
}

}  // namespace mtasts::server
