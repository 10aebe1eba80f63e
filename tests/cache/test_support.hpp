// Helpers for the cache tests: sample records, a field-by-field comparison that says what
// differs, byte spelling for the record layout tests (varints written from the documented
// layout, not by the codec; hex), and a temporary state_dir (mkdtemp) removed at the end.
#pragma once

#include "cache/policy_record.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace mtasts::cache::test {

// Unsigned LEB128, written here from the layout, not taken from the codec.
inline std::string uv(std::uint64_t v) {
  std::string s;
  for (; v >= 0x80; v >>= 7) s.push_back(static_cast<char>((v & 0x7f) | 0x80));
  s.push_back(static_cast<char>(v));
  return s;
}

inline std::string hex(std::string_view bytes) {
  static constexpr char Digits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(Digits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(Digits[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

inline PolicyRecord sampleRecord(std::string id = "20240101T000000", UnixSeconds fetched = 1'700'000'000) {
  PolicyRecord r;
  r.kind = EntryKind::Policy;
  r.txt_id = std::move(id);
  r.policy.mode = sts::Mode::Enforce;
  r.policy.max_age = 604800;
  r.policy.mx = {"mail.example.com", "*.example.net"};
  r.policy.lines = {{"version", "STSv1"}, {"mode", "enforce"}, {"mx", "mail.example.com"},
                    {"mx", "*.example.net"}, {"max_age", "604800"}};
  r.fetched_at = fetched;
  r.expires_at = fetched + 604800;
  r.txt_checked_at = fetched + 10;
  r.last_used = fetched + 20;
  r.last_failure = FailureInfo{fetched - 5, TlsRptResultType::StsWebpkiInvalid,
                               "certificate has expired", "20231231T000000"};
  return r;
}

// sampleRecord() with one more (unknown-key) policy line of `bytes` bytes, for tests that
// need big records (map growth, map full).
inline PolicyRecord paddedRecord(std::size_t bytes) {
  PolicyRecord r = sampleRecord();
  r.policy.lines.emplace_back("x-padding", std::string(bytes, 'p'));
  return r;
}

inline PolicyRecord negativeRecord(UnixSeconds at = 1'700'000'000) {
  PolicyRecord r;
  r.kind = EntryKind::NoPolicy;
  r.txt_checked_at = at;
  r.expires_at = at + 3600;
  return r;
}

// Empty when equal, else the first differing field (for CHECK messages: got vs want).
inline std::string recordDiff(const PolicyRecord& got, const PolicyRecord& want) {
  if (got.kind != want.kind) return "kind";
  if (got.txt_id != want.txt_id) return "txt_id: " + got.txt_id + " vs " + want.txt_id;
  if (got.policy.mode != want.policy.mode) return "policy.mode";
  if (got.policy.max_age != want.policy.max_age) return "policy.max_age";
  if (got.policy.mx != want.policy.mx) return "policy.mx";
  if (got.policy.lines != want.policy.lines) return "policy.lines";
  if (got.fetched_at != want.fetched_at) return "fetched_at";
  if (got.expires_at != want.expires_at) return "expires_at";
  if (got.txt_checked_at != want.txt_checked_at) return "txt_checked_at";
  if (got.last_used != want.last_used) return "last_used";
  if (got.last_failure.has_value() != want.last_failure.has_value()) return "last_failure presence";
  if (got.last_failure) {
    const auto& a = *got.last_failure;
    const auto& b = *want.last_failure;
    if (a.at != b.at || a.type != b.type || a.reason != b.reason || a.txt_id != b.txt_id) {
      return "last_failure";
    }
  }
  if (!(got.dane == want.dane)) return "dane";
  return "";
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    std::string templ = base + "/mtasts-cache-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // A not-yet-existing subdirectory, to exercise "created 0750 if missing".
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mtasts::cache::test
