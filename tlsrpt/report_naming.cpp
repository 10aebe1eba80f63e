#include "tlsrpt/report_naming.hpp"

#include <openssl/rand.h>
#include <spdlog/fmt/fmt.h>

#include <array>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/addr_spec.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxTokenLength = 64;
constexpr std::size_t MaxUniqueIdLength = 32;

bool isAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Result<void> checkHostname(std::string_view what, std::string_view name) {
  if (isValidHostname(name)) return {};
  return fail(ErrorCode::InvalidInput,
              fmt::format("{} \"{}\" is not a hostname", what, escapeForLog(name, 60)));
}

}  // namespace

Result<std::string> randomReportToken() {
  std::array<unsigned char, 8> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return fail(ErrorCode::Internal, "RAND_bytes failed");
  }
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

Result<std::string> makeReportId(UtcDay day, std::string_view policy_domain,
                                 std::string_view submitter, std::string_view token) {
  if (auto ok = checkHostname("policy domain", policy_domain); !ok) return Unexpected{ok.error()};
  if (auto ok = checkHostname("submitter", submitter); !ok) return Unexpected{ok.error()};
  bool token_ok = !token.empty() && token.size() <= MaxTokenLength;
  for (char c : token) token_ok = token_ok && isAlnum(c);
  if (!token_ok) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("report token \"{}\" is not 1-64 letters or digits",
                            escapeForLog(token, 70)));
  }
  return fmt::format("{}.{}.{}@{}", formatDate(day), token, policy_domain, submitter);
}

std::string fileNameUniqueId(std::string_view report_id) {
  const std::string_view left = report_id.substr(0, report_id.rfind('@'));
  std::string out;
  for (char c : left) {
    if (out.size() == MaxUniqueIdLength) break;
    if (isAlnum(c)) out += c;
  }
  return out;
}

Result<std::string> reportFileName(std::string_view submitter, std::string_view policy_domain,
                                   UtcDay day, std::string_view report_id) {
  if (auto ok = checkHostname("submitter", submitter); !ok) return Unexpected{ok.error()};
  if (auto ok = checkHostname("policy domain", policy_domain); !ok) return Unexpected{ok.error()};
  std::string name = fmt::format("{}!{}!{}!{}", submitter, policy_domain, dayStart(day), dayEnd(day));
  if (const std::string unique = fileNameUniqueId(report_id); !unique.empty()) name += "!" + unique;
  return name + ".json.gz";
}

Result<std::string> addressDomain(std::string_view address) {
  if (const std::string problem = addrSpecProblem(address); !problem.empty()) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("\"{}\" is not a usable address: {}", escapeForLog(address, 80), problem));
  }
  return toLowerAscii(address.substr(address.rfind('@') + 1));
}

}  // namespace mtasts::tlsrpt
