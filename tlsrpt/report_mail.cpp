#include "tlsrpt/report_mail.hpp"

#include <openssl/evp.h>
#include <spdlog/fmt/fmt.h>

#include <vector>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/addr_spec.hpp"
#include "tlsrpt/text_escape.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t FoldAt = 78;            // RFC 5322 2.1.1 SHOULD
constexpr std::size_t MaxLine = 998;          // RFC 5322 2.1.1 MUST
constexpr std::size_t MaxOrganizationBytes = 200;
constexpr std::size_t Base64LineBytes = 57;   // 57 bytes -> 76 characters
constexpr std::string_view Crlf = "\r\n";

Unexpected invalid(std::string_view what, std::string_view value, std::string_view why) {
  return fail(ErrorCode::InvalidInput,
              fmt::format("report mail: {} \"{}\" {}", what, escapeForLog(value, 80), why));
}

// dot-atom-text = 1*atext *("." 1*atext)
bool isDotAtomText(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' ? s[i + 1] == '.' : !isAtext(s[i])) return false;
  }
  return true;
}

// msg-id content: dot-atom-text "@" dot-atom-text (RFC 5322 3.6.4, without no-fold-literal).
bool isMsgIdContent(std::string_view s) noexcept {
  const std::size_t at = s.find('@');
  return at != std::string_view::npos && isDotAtomText(s.substr(0, at)) &&
         isDotAtomText(s.substr(at + 1));
}

// RFC 2046 5.1.1: 1 to 70 bchars, not ending in a space.
bool isBoundary(std::string_view s) noexcept {
  if (s.empty() || s.size() > 70 || s.back() == ' ') return false;
  constexpr std::string_view Others = "'()+_,-./:=? ";
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && Others.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// Printable ASCII that may stand inside a quoted-string without escapes.
bool isQuotableFileName(std::string_view s) noexcept {
  if (s.empty() || s.size() > 900) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// "Name: value" folded at spaces so lines stay within 78 where the words allow; a word
// longer than that stays whole on its own line (up to 998).
Result<void> appendHeader(std::string& out, std::string_view name, std::string_view value) {
  std::string line = std::string(name) + ":";
  bool line_has_word = false;
  while (true) {
    const std::size_t space = value.find(' ');
    const std::string_view word = value.substr(0, space);
    if (line_has_word && line.size() + 1 + word.size() > FoldAt) {
      out += line;
      out += Crlf;
      line.clear();  // the continuation line starts with the space below (FWS)
    }
    line += ' ';
    line += word;
    line_has_word = true;
    if (line.size() > MaxLine) return invalid("header", name, "has a line over 998 bytes");
    if (space == std::string_view::npos) break;
    value.remove_prefix(space + 1);
  }
  out += line;
  out += Crlf;
  return {};
}

// The operator's organization name made fit for one text line: valid UTF-8, no control
// characters, at most MaxOrganizationBytes (cut at a character boundary).
std::string organizationLine(std::string_view raw) {
  std::string text = toValidUtf8(raw);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > MaxOrganizationBytes) {
    std::size_t cut = MaxOrganizationBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  return text;
}

bool isAscii(std::string_view s) noexcept {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

Result<void> checkParams(const ReportMailParams& p) {
  for (const auto& [what, address] : {std::pair{"From", &p.from}, std::pair{"To", &p.to}}) {
    if (const std::string problem = addrSpecProblem(*address); !problem.empty()) {
      return invalid(what, *address, "is not a usable address: " + problem);
    }
  }
  for (const auto& [what, domain] :
       {std::pair{"policy domain", &p.policy_domain}, std::pair{"submitter", &p.submitter}}) {
    if (!isValidHostname(*domain)) return invalid(what, *domain, "is not a hostname");
  }
  const std::string_view from_domain = std::string_view(p.from).substr(p.from.rfind('@') + 1);
  if (!equalsIgnoreCaseAscii(from_domain, p.submitter)) {
    return invalid("From", p.from, "is not in the submitter domain (RFC 8460 5.3)");
  }
  if (!isMsgIdContent(p.report_id)) return invalid("report-id", p.report_id, "is not a msg-id");
  if (!isMsgIdContent(p.message_id)) return invalid("Message-ID", p.message_id, "is not a msg-id");
  if (!isBoundary(p.boundary)) return invalid("boundary", p.boundary, "is not an RFC 2046 boundary");
  if (!isQuotableFileName(p.file_name)) return invalid("file name", p.file_name, "cannot be quoted");
  if (p.gzip_report.empty()) return fail(ErrorCode::InvalidInput, "report mail: no attachment");
  return {};
}

}  // namespace

std::string base64Lines(std::string_view bytes) {
  std::string out;
  std::vector<unsigned char> buf(4 * Base64LineBytes / 3 + 1);
  for (std::size_t pos = 0; pos < bytes.size(); pos += Base64LineBytes) {
    const std::string_view chunk = bytes.substr(pos, Base64LineBytes);
    const int n = EVP_EncodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(chunk.data()),
                                  static_cast<int>(chunk.size()));
    out.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
    out += Crlf;
  }
  return out;
}

std::string makeMessageId(std::string_view report_id, std::size_t destination_index) {
  const std::size_t at = report_id.rfind('@');
  const std::string_view left = report_id.substr(0, at);
  const std::string_view right = at == std::string_view::npos ? "tlsrpt.invalid" : report_id.substr(at + 1);
  return fmt::format("{}.{}@{}", left, destination_index, right);
}

std::string makeMimeBoundary(std::string_view token) { return "=_tlsrpt_" + std::string(token); }

Result<std::string> buildReportMail(const ReportMailParams& p) {
  if (auto ok = checkParams(p); !ok) return Unexpected{std::move(ok).error()};

  const std::string organization = organizationLine(p.organization_name);
  std::string text;
  text += "This is an aggregate SMTP TLS report (RFC 8460).\r\n\r\n";
  text += "Reporting organization: " + organization + "\r\n";
  text += "Submitter: " + p.submitter + "\r\n";
  text += "Policy domain: " + p.policy_domain + "\r\n";
  text += "Day: " + formatDate(p.day) + " (00:00:00 to 23:59:59 UTC)\r\n";
  text += "Report-ID: <" + p.report_id + ">\r\n\r\n";
  text += "The report is the attached gzip-compressed JSON file.\r\n";
  const bool ascii = isAscii(text);
  const std::string text_body = ascii ? text : base64Lines(text);
  const std::string attachment = base64Lines(p.gzip_report);
  const std::string delimiter = "--" + p.boundary;
  if (text_body.find(delimiter) != std::string::npos ||
      attachment.find(delimiter) != std::string::npos) {
    return invalid("boundary", p.boundary, "occurs in the content");
  }

  std::string out;
  const std::pair<std::string_view, std::string> headers[] = {
      {"From", p.from},
      {"To", p.to},
      {"Subject", fmt::format("Report Domain: {} Submitter: {} Report-ID: <{}>", p.policy_domain,
                              p.submitter, p.report_id)},
      {"Date", formatRfc5322Date(p.date)},
      {"Message-ID", "<" + p.message_id + ">"},
      {"TLS-Report-Domain", p.policy_domain},
      {"TLS-Report-Submitter", p.submitter},
      {"TLS-Required", "No"},
      {"MIME-Version", "1.0"},
      {"Content-Type",
       fmt::format("multipart/report; report-type=\"tlsrpt\"; boundary=\"{}\"", p.boundary)},
  };
  for (const auto& [name, value] : headers) {
    if (auto ok = appendHeader(out, name, value); !ok) return Unexpected{std::move(ok).error()};
  }
  out += "\r\nThis is a multipart message in MIME format.\r\n";

  out += "\r\n" + delimiter + "\r\n";
  out += ascii ? "Content-Type: text/plain; charset=\"us-ascii\"\r\n"
                 "Content-Transfer-Encoding: 7bit\r\n"
               : "Content-Type: text/plain; charset=\"utf-8\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n" + text_body;

  out += "\r\n" + delimiter + "\r\n";
  out += "Content-Type: application/tlsrpt+gzip\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  if (auto ok = appendHeader(out, "Content-Disposition",
                             fmt::format("attachment; filename=\"{}\"", p.file_name));
      !ok) {
    return Unexpected{std::move(ok).error()};
  }
  out += "\r\n" + attachment;
  out += "\r\n" + delimiter + "--\r\n";
  return out;
}

}  // namespace mtasts::tlsrpt
