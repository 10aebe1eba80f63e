// Micro-benchmark for the choice of the libtlsrpt datagram parser (issue 12): parses the
// real datagrams in tests/fixtures/tlsrpt in a loop with each candidate and prints CPU
// ns per datagram, then what each candidate does with hostile input by default.
//   tlsrpt_parse_bench [FIXTURE_DIR] [ROUNDS]
// Candidates: the project's strict hand-written parser (tlsrpt/datagram.hpp), nlohmann-json
// (already a dependency), and, when the build found them, RapidJSON and simdjson (DOM).
// The library candidates are measured twice: the library parse alone ("DOM only"), and
// parse + extraction into the same Datagram with the same field checks ("to Datagram"),
// which is what the hand-written parser's number always includes.
// Single-threaded; measures thread CPU time (CLOCK_THREAD_CPUTIME_ID), median of ROUNDS.
#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/domain.hpp"
#include "tlsrpt/datagram.hpp"
#include "tlsrpt/datagram_sessions.hpp"

#ifdef MTASTS_BENCH_RAPIDJSON
#include <rapidjson/document.h>
// RapidJSON 1.1.0's member iterators predate C++20's reversed operator== candidates; clang
// flags every iterator comparison as ambiguous (both candidates do the same thing).
#ifdef __clang__
#pragma clang diagnostic ignored "-Wambiguous-reversed-operator"
#endif
#endif
#ifdef MTASTS_BENCH_SIMDJSON
#include <simdjson.h>
#endif

using namespace mtasts::tlsrpt;

namespace {

// --- field checks shared by the library candidates (the hand-written parser has its own) --
bool domainOk(std::string& d) {
  for (char& c : d) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (d.size() > 1 && d.back() == '.') d.pop_back();
  return mtasts::isValidHostname(d);
}
bool ipOk(const std::string& s) {
  std::array<unsigned char, 16> a{};
  return s.empty() || inet_pton(AF_INET, s.c_str(), a.data()) == 1 || inet_pton(AF_INET6, s.c_str(), a.data()) == 1;
}
bool mxOk(std::string_view m) {
  if (m.substr(0, 2) == "*.") m.remove_prefix(2);
  return mtasts::isValidHostname(m);
}
bool policyType(std::int64_t c, PolicyType& t) {
  if (c == 1) t = PolicyType::Tlsa;
  else if (c == 2) t = PolicyType::Sts;
  else if (c == 9) t = PolicyType::NoPolicyFound;
  else return false;
  return true;
}
bool resultType(std::int64_t c, mtasts::TlsRptResultType& r) {
  using R = mtasts::TlsRptResultType;
  static const std::array<std::pair<int, R>, 11> codes{{{201, R::StarttlsNotSupported}, {202, R::CertificateHostMismatch},
      {203, R::CertificateNotTrusted}, {204, R::CertificateExpired}, {205, R::ValidationFailure},
      {301, R::StsPolicyFetchError}, {302, R::StsPolicyInvalid}, {303, R::StsWebpkiInvalid},
      {304, R::TlsaInvalid}, {305, R::DnssecInvalid}, {306, R::DaneRequired}}};
  for (const auto& [code, type] : codes) {
    if (code == c) { r = type; return true; }
  }
  return false;
}
bool detailOk(DatagramFailureDetail& d) {
  return ipOk(d.sending_mta_ip) && ipOk(d.receiving_ip) &&
         (d.receiving_mx_hostname.empty() || ipOk(d.receiving_mx_hostname) || domainOk(d.receiving_mx_hostname));
}

// --- nlohmann-json ---------------------------------------------------------------------
using nlohmann::json;
bool str(const json& o, const char* k, std::string& out, bool required = false) {
  const auto it = o.find(k);
  if (it == o.end()) return !required;
  if (!it->is_string()) return false;
  out = it->get_ref<const std::string&>();
  return true;
}
bool num(const json& o, const char* k, std::int64_t& out) {
  const auto it = o.find(k);
  if (it == o.end() || !it->is_number_integer()) return false;
  out = it->get<std::int64_t>();
  return true;
}
bool strings(const json& o, const char* k, std::vector<std::string>& out) {
  const auto it = o.find(k);
  if (it == o.end()) return true;
  if (!it->is_array()) return false;
  for (const auto& e : *it) {
    if (!e.is_string()) return false;
    out.push_back(e.get<std::string>());
  }
  return true;
}
bool nlohmannToDatagram(std::string_view bytes, Datagram& out) {
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_object()) return false;
  std::string dpv;
  if (!str(j, "dpv", dpv, true) || dpv != "1") return false;
  if (!str(j, "d", out.domain, true) || !domainOk(out.domain) || !str(j, "pr", out.tlsrpt_record, true)) return false;
  const auto ps = j.find("policies");
  if (ps == j.end() || !ps->is_array() || ps->empty() || ps->size() > MaxPolicies) return false;
  for (const auto& pj : *ps) {
    if (!pj.is_object()) return false;
    DatagramPolicy& p = out.policies.emplace_back();
    std::int64_t n = 0;
    if (!num(pj, "policy-type", n) || !policyType(n, p.policy.type)) return false;
    if (!str(pj, "policy-domain", p.policy.domain) || (!p.policy.domain.empty() && !domainOk(p.policy.domain))) return false;
    if (!strings(pj, "policy-string", p.policy.strings) || !strings(pj, "mx-host", p.policy.mx_hosts)) return false;
    for (const auto& m : p.policy.mx_hosts) {
      if (!mxOk(m)) return false;
    }
    if (!num(pj, "t", n) || n < 0) return false;
    p.failure_count = static_cast<std::uint32_t>(n);
    if (!num(pj, "f", n) || (n != 0 && n != 1)) return false;
    p.failed = n == 1;
    const auto fds = pj.find("failure-details");
    if (fds == pj.end()) continue;
    if (!fds->is_array()) return false;
    for (const auto& fj : *fds) {
      if (!fj.is_object()) return false;
      DatagramFailureDetail& d = p.failure_details.emplace_back();
      if (!num(fj, "c", n) || !resultType(n, d.result)) return false;
      if (!str(fj, "s", d.sending_mta_ip) || !str(fj, "n", d.receiving_mx_hostname) || !str(fj, "h", d.ehlo_response) ||
          !str(fj, "r", d.receiving_ip) || !str(fj, "a", d.additional_information) ||
          !str(fj, "f", d.failure_reason_code) || !detailOk(d)) {
        return false;
      }
    }
  }
  return true;
}
bool nlohmannDomOnly(std::string_view bytes) {
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  return !j.is_discarded();
}

#ifdef MTASTS_BENCH_RAPIDJSON
// --- RapidJSON (a fresh Document per datagram on a stack buffer, its recommended pattern) -
constexpr unsigned RapidFlags = rapidjson::kParseValidateEncodingFlag;
using RDoc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
using RVal = RDoc::ValueType;
bool rstr(const RVal& o, const char* k, std::string& out, bool required = false) {
  const auto it = o.FindMember(k);
  if (it == o.MemberEnd()) return !required;
  if (!it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}
bool rnum(const RVal& o, const char* k, std::int64_t& out) {
  const auto it = o.FindMember(k);
  if (it == o.MemberEnd() || !it->value.IsInt64()) return false;
  out = it->value.GetInt64();
  return true;
}
bool rstrings(const RVal& o, const char* k, std::vector<std::string>& out) {
  const auto it = o.FindMember(k);
  if (it == o.MemberEnd()) return true;
  if (!it->value.IsArray()) return false;
  for (const auto& e : it->value.GetArray()) {
    if (!e.IsString()) return false;
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return true;
}
bool rapidToDatagram(std::string_view bytes, Datagram& out) {
  char buffer[16384];
  rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
  RDoc doc(&pool);
  doc.Parse<RapidFlags>(bytes.data(), bytes.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  std::string dpv;
  if (!rstr(doc, "dpv", dpv, true) || dpv != "1") return false;
  if (!rstr(doc, "d", out.domain, true) || !domainOk(out.domain) || !rstr(doc, "pr", out.tlsrpt_record, true)) return false;
  const auto ps = doc.FindMember("policies");
  if (ps == doc.MemberEnd() || !ps->value.IsArray() || ps->value.Empty() || ps->value.Size() > MaxPolicies) return false;
  for (const auto& pj : ps->value.GetArray()) {
    if (!pj.IsObject()) return false;
    DatagramPolicy& p = out.policies.emplace_back();
    std::int64_t n = 0;
    if (!rnum(pj, "policy-type", n) || !policyType(n, p.policy.type)) return false;
    if (!rstr(pj, "policy-domain", p.policy.domain) || (!p.policy.domain.empty() && !domainOk(p.policy.domain))) return false;
    if (!rstrings(pj, "policy-string", p.policy.strings) || !rstrings(pj, "mx-host", p.policy.mx_hosts)) return false;
    for (const auto& m : p.policy.mx_hosts) {
      if (!mxOk(m)) return false;
    }
    if (!rnum(pj, "t", n) || n < 0) return false;
    p.failure_count = static_cast<std::uint32_t>(n);
    if (!rnum(pj, "f", n) || (n != 0 && n != 1)) return false;
    p.failed = n == 1;
    const auto fds = pj.FindMember("failure-details");
    if (fds == pj.MemberEnd()) continue;
    if (!fds->value.IsArray()) return false;
    for (const auto& fj : fds->value.GetArray()) {
      if (!fj.IsObject()) return false;
      DatagramFailureDetail& d = p.failure_details.emplace_back();
      if (!rnum(fj, "c", n) || !resultType(n, d.result)) return false;
      if (!rstr(fj, "s", d.sending_mta_ip) || !rstr(fj, "n", d.receiving_mx_hostname) || !rstr(fj, "h", d.ehlo_response) ||
          !rstr(fj, "r", d.receiving_ip) || !rstr(fj, "a", d.additional_information) ||
          !rstr(fj, "f", d.failure_reason_code) || !detailOk(d)) {
        return false;
      }
    }
  }
  return true;
}
bool rapidDomOnly(std::string_view bytes) {
  char buffer[16384];
  rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
  RDoc doc(&pool);
  doc.Parse<RapidFlags>(bytes.data(), bytes.size());
  return !doc.HasParseError();
}
#endif

#ifdef MTASTS_BENCH_SIMDJSON
// --- simdjson DOM (one reused parser; input in a padded buffer, as a reader would recv it) -
namespace sj = simdjson::dom;
bool sstr(sj::object o, const char* k, std::string& out, bool required = false) {
  std::string_view v;
  const auto e = o[k];
  if (e.error() == simdjson::NO_SUCH_FIELD) return !required;
  if (e.get_string().get(v)) return false;
  out.assign(v);
  return true;
}
bool snum(sj::object o, const char* k, std::int64_t& out) { return !o[k].get_int64().get(out); }
bool sstrings(sj::object o, const char* k, std::vector<std::string>& out) {
  const auto e = o[k];
  if (e.error() == simdjson::NO_SUCH_FIELD) return true;
  sj::array a;
  if (e.get_array().get(a)) return false;
  for (sj::element x : a) {
    std::string_view v;
    if (x.get_string().get(v)) return false;
    out.emplace_back(v);
  }
  return true;
}
bool simdToDatagram(sj::parser& parser, const simdjson::padded_string& bytes, Datagram& out) {
  sj::element doc;
  sj::object o;
  if (parser.parse(bytes).get(doc) || doc.get_object().get(o)) return false;
  std::string dpv;
  if (!sstr(o, "dpv", dpv, true) || dpv != "1") return false;
  if (!sstr(o, "d", out.domain, true) || !domainOk(out.domain) || !sstr(o, "pr", out.tlsrpt_record, true)) return false;
  sj::array ps;
  if (o["policies"].get_array().get(ps) || ps.size() == 0 || ps.size() > MaxPolicies) return false;
  for (sj::element pe : ps) {
    sj::object pj;
    if (pe.get_object().get(pj)) return false;
    DatagramPolicy& p = out.policies.emplace_back();
    std::int64_t n = 0;
    if (!snum(pj, "policy-type", n) || !policyType(n, p.policy.type)) return false;
    if (!sstr(pj, "policy-domain", p.policy.domain) || (!p.policy.domain.empty() && !domainOk(p.policy.domain))) return false;
    if (!sstrings(pj, "policy-string", p.policy.strings) || !sstrings(pj, "mx-host", p.policy.mx_hosts)) return false;
    for (const auto& m : p.policy.mx_hosts) {
      if (!mxOk(m)) return false;
    }
    if (!snum(pj, "t", n) || n < 0) return false;
    p.failure_count = static_cast<std::uint32_t>(n);
    if (!snum(pj, "f", n) || (n != 0 && n != 1)) return false;
    p.failed = n == 1;
    const auto fe = pj["failure-details"];
    if (fe.error() == simdjson::NO_SUCH_FIELD) continue;
    sj::array fds;
    if (fe.get_array().get(fds)) return false;
    for (sj::element x : fds) {
      sj::object fj;
      if (x.get_object().get(fj)) return false;
      DatagramFailureDetail& d = p.failure_details.emplace_back();
      if (!snum(fj, "c", n) || !resultType(n, d.result)) return false;
      if (!sstr(fj, "s", d.sending_mta_ip) || !sstr(fj, "n", d.receiving_mx_hostname) || !sstr(fj, "h", d.ehlo_response) ||
          !sstr(fj, "r", d.receiving_ip) || !sstr(fj, "a", d.additional_information) ||
          !sstr(fj, "f", d.failure_reason_code) || !detailOk(d)) {
        return false;
      }
    }
  }
  return true;
}
#endif

// --- harness -----------------------------------------------------------------------------
double threadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Input {
  std::string name;
  std::string bytes;
#ifdef MTASTS_BENCH_SIMDJSON
  simdjson::padded_string padded{};
#endif
};

// Median over rounds of CPU ns per datagram; each round parses every input `passes` times.
double measure(const std::vector<const Input*>& inputs, int rounds, const std::function<std::size_t(const Input&)>& one) {
  const int passes = std::max(1, 200000 / static_cast<int>(inputs.size()));
  std::vector<double> per;
  std::size_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = threadCpuNs();
    for (int p = 0; p < passes; ++p) {
      for (const Input* in : inputs) sink += one(*in);
    }
    per.push_back((threadCpuNs() - t0) / (static_cast<double>(passes) * static_cast<double>(inputs.size())));
  }
  if (sink == 42) std::puts("");  // keep the work observable
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

std::string readFile(const std::filesystem::path& p) {
  std::string out;
  if (std::FILE* f = std::fopen(p.c_str(), "rb")) {
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

struct Candidate {
  std::string name;
  std::function<std::size_t(const Input&)> full;     // to a checked Datagram
  std::function<std::size_t(const Input&)> dom;      // library parse only (may be empty)
  std::function<bool(const std::string&)> accepts;   // for the strictness table
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : MTASTS_TLSRPT_FIXTURES;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  std::vector<Input> inputs;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".dgram") continue;
    Input in;
    in.name = e.path().filename().string();
    in.bytes = readFile(e.path());
#ifdef MTASTS_BENCH_SIMDJSON
    in.padded = simdjson::padded_string(in.bytes);
#endif
    inputs.push_back(std::move(in));
  }
  std::sort(inputs.begin(), inputs.end(), [](const Input& a, const Input& b) { return a.name < b.name; });
  std::vector<const Input*> all;
  std::vector<const Input*> postfix;
  std::size_t postfix_bytes = 0;
  for (const auto& in : inputs) {
    all.push_back(&in);
    if (in.name.rfind("pf311-", 0) == 0) {
      postfix.push_back(&in);
      postfix_bytes += in.bytes.size();
    }
  }
  if (postfix.empty()) {
    std::fprintf(stderr, "no pf311-*.dgram fixtures in %s\n", dir.c_str());
    return 1;
  }

  std::vector<Candidate> candidates;
  candidates.push_back({"hand-written (tlsrpt/datagram.cpp)",
                        [](const Input& in) { auto d = parseDatagram(in.bytes); return d ? d->policies.size() : 0; },
                        nullptr, [](const std::string& s) { return parseDatagram(s).has_value(); }});
  candidates.push_back({"hand-written + sessionsOf",
                        [](const Input& in) {
                          auto d = parseDatagram(in.bytes);
                          return d ? sessionsOf(std::move(d).value()).sessions.size() : 0;
                        },
                        nullptr, nullptr});
  candidates.push_back({"nlohmann-json 3.11.2",
                        [](const Input& in) { Datagram d; return nlohmannToDatagram(in.bytes, d) ? d.policies.size() : 0; },
                        [](const Input& in) -> std::size_t { return nlohmannDomOnly(in.bytes); },
                        [](const std::string& s) { Datagram d; return nlohmannToDatagram(s, d); }});
#ifdef MTASTS_BENCH_RAPIDJSON
  candidates.push_back({"RapidJSON 1.1.0 (kParseValidateEncodingFlag)",
                        [](const Input& in) { Datagram d; return rapidToDatagram(in.bytes, d) ? d.policies.size() : 0; },
                        [](const Input& in) -> std::size_t { return rapidDomOnly(in.bytes); },
                        [](const std::string& s) { Datagram d; return rapidToDatagram(s, d); }});
#endif
#ifdef MTASTS_BENCH_SIMDJSON
  static sj::parser parser;
  candidates.push_back({"simdjson 3.0.1 (DOM, " + std::string(simdjson::get_active_implementation()->name()) + ")",
                        [](const Input& in) { Datagram d; return simdToDatagram(parser, in.padded, d) ? d.policies.size() : 0; },
                        [](const Input& in) -> std::size_t { sj::element e; return !parser.parse(in.padded).get(e); },
                        [](const std::string& s) {
                          Datagram d;
                          return simdToDatagram(parser, simdjson::padded_string(s), d);
                        }});
#endif

  std::printf("%zu fixture datagrams (%zu from Postfix 3.11, mean %zu bytes), median of %d rounds, CPU ns/datagram\n\n",
              all.size(), postfix.size(), postfix_bytes / postfix.size(), rounds);
  std::printf("| candidate | Postfix datagrams, to Datagram | all fixtures, to Datagram | Postfix datagrams, library parse only |\n");
  std::printf("| --- | ---: | ---: | ---: |\n");
  for (const auto& c : candidates) {
    const double pf = measure(postfix, rounds, c.full);
    const double everything = measure(all, rounds, c.full);
    std::string dom = "-";
    if (c.dom) dom = std::to_string(static_cast<long>(measure(postfix, rounds, c.dom) + 0.5));
    std::printf("| %s | %.0f | %.0f | %s |\n", c.name.c_str(), pf, everything, dom.c_str());
  }

  // Hostile input: accepted (yes) or refused (no) by each candidate, as configured above.
  const std::string base = inputs.front().bytes.empty() ? "" : readFile(std::filesystem::path(dir) / "pf311-good-success.dgram");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const auto at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"repeated member (\"d\" twice)", replaced(R"("d": "good.test",)", R"("d": "good.test","d": "evil.test",)")},
      {"trailing garbage", base + "x"},
      {"trailing NUL", base + std::string(1, '\0')},
      {"invalid escape \\x", replaced("version: STSv1", "version: \\xSTSv1")},
      {"lone surrogate \\ud800", replaced("version: STSv1", "version: \\ud800")},
      {"escaped NUL \\u0000", replaced("version: STSv1", "version: \\u0000")},
      {"raw invalid UTF-8 (0xE4)", replaced("version: STSv1", "version: \xe4")},
      {"t as 1e0", replaced(R"("t":0)", R"("t":0e0)")},
      {"f as 0.0", replaced(R"("f":0)", R"("f":0.0)")},
      {"2000-deep nesting in an unknown member", replaced(R"("d":)", "\"x\":" + std::string(2000, '[') + std::string(2000, ']') + ",\"d\":")},
  };
  std::printf("\nAccepted (yes) or refused (no) with each candidate's defaults:\n\n| input |");
  for (const auto& c : candidates) {
    if (c.accepts) std::printf(" %s |", c.name.substr(0, c.name.find(' ')).c_str());
  }
  std::printf("\n| --- |");
  for (const auto& c : candidates) {
    if (c.accepts) std::printf(" --- |");
  }
  std::printf("\n");
  for (const auto& [name, input] : hostile) {
    std::printf("| %s |", name.c_str());
    for (const auto& c : candidates) {
      if (c.accepts) std::printf(" %s |", c.accepts(input) ? "yes" : "no");
    }
    std::printf("\n");
  }
  return 0;
}
