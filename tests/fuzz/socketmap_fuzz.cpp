// libFuzzer target for the socketmap request parser, the policy-key normaliser with its
// IDNA conversion (common/domain.hpp toALabels) and the verdict formatter
// (postfix/socketmap.hpp, postfix/verdict.hpp). The verdict input is
// derived from the bytes (lines "mx" patterns / "key:value" policy lines) and every emitted
// verdict is re-parsed with the transcription of Postfix's tokenizer in
// tests/postfix/postfix_policy_oracle.hpp. Invariants are checked with abort().
#include "common/domain.hpp"
#include "postfix/socketmap.hpp"
#include "postfix/verdict.hpp"
#include "tests/postfix/postfix_policy_oracle.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace mtasts;
using namespace mtasts::postfix;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool isPrintableAscii(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

void checkKey(std::string_view key) {
  const PolicyKey k = normalizePolicyKey(key);
  require(k.domain().empty() != k.skip_reason.empty());
  require(isPrintableAscii(k.skip_reason));
  if (k.domain().empty()) return;
  require(isValidHostname(k.domain()));
  require(!isIpAddressLiteral(k.domain()));
  require(toLowerAscii(k.domain()) == k.domain());
  require(key.front() != '.');
  if (!hasNonAsciiByte(key)) {
    require(k.domain().size() <= key.size());
    return;
  }
  // A UTF-8 key's A-label form is a fixed point: as a key it normalises to itself.
  require(normalizePolicyKey(k.domain()).domain() == k.domain());
}

// The IDNA conversion itself: its result is a lower-case LDH name, not an IP address, and
// converting it again changes nothing; a failure has a printable reason.
void checkALabels(std::string_view name) {
  std::string out;
  const IdnaError error = convertToALabels(name, out);
  require(isPrintableAscii(idnaErrorText(error)));
  if (error != IdnaError::None) return;
  require(isValidHostname(out));
  require(!isIpAddressLiteral(out));
  require(toLowerAscii(out) == out);
  const auto again = toALabels(out);
  require(again.has_value() && *again == out);
}

void checkReplies(std::string_view data) {
  for (const auto status : {ReplyStatus::Temp, ReplyStatus::Timeout, ReplyStatus::Perm}) {
    std::string out;
    appendReply(out, status, data);
    require(isPrintableAscii(out));
    require(out.size() <= 8 + kMaxReplyReasonBytes);
  }
  std::string out;
  appendReply(out, ReplyStatus::NotFound, data);
  require(out == "NOTFOUND ");
}

void checkVerdict(std::string_view bytes) {
  if (bytes.empty()) return;
  const auto control = static_cast<unsigned char>(bytes.front());
  bytes.remove_prefix(1);
  std::vector<std::string> mx;
  std::vector<std::pair<std::string, std::string>> lines;
  std::string domain = "example.com";
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    const auto colon = line.find(':');
    if (line.substr(0, 2) == "d=") {
      domain = std::string(line.substr(2));
    } else if (colon == std::string_view::npos) {
      mx.emplace_back(line);
    } else {
      lines.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }
  static const char* const kFailures[] = {"", "sts-policy-invalid", "validation-failure", "bogus"};
  StsVerdictInput in;
  in.policy_domain = domain;
  in.level = (control & 1) ? "dane-only" : "secure";
  in.mx = (control & 2) ? nullptr : &mx;
  in.policy_lines = (control & 4) ? nullptr : &lines;
  in.policy_failure = kFailures[(control >> 3) & 3];
  const auto flavour = (control & 0x20) ? VerdictFlavour::TlsRpt : VerdictFlavour::Plain;

  std::string out = "OK ";
  const bool ok = appendStsVerdict(out, in, flavour);
  if (!ok) {
    require(out == "OK ");
    return;
  }
  const std::string_view verdict = std::string_view(out).substr(3);
  require(verdict.size() <= kMaxVerdictBytes);
  require(isPrintableAscii(verdict));
  require(in.mx != nullptr && !in.mx->empty());
  const auto parsed = test::parsePostfixPolicy(verdict);
  require(parsed.error.empty());
  require(parsed.level == in.level);
  if (in.level == "secure") {
    require(!parsed.match.empty());
    for (const auto& m : parsed.match) {
      require(isValidHostname(m.front() == '.' ? std::string_view(m).substr(1) : m));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto request = parseSocketmapRequest(bytes)) {
    require(!request->map_name.empty());
    require(request->map_name.find(' ') == std::string_view::npos);
    require(request->map_name.size() + 1 + request->key.size() == bytes.size());
    checkKey(request->key);
    checkALabels(request->key);
  } else {
    require(bytes.empty() || bytes.front() == ' ' || bytes.find(' ') == std::string_view::npos);
  }
  checkKey(bytes);
  checkALabels(bytes);
  checkReplies(bytes);
  checkVerdict(bytes);
  return 0;
}
