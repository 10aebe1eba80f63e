#include "net/getdns_answer.hpp"

#include <arpa/inet.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::net {
namespace {

constexpr int MaxCnameHops = 16;  // a longer chain is a loop or an attack: stop following

std::string lowerWire(const getdns_bindata* name) {
  std::string out(reinterpret_cast<const char*>(name->data), name->size);
  // Wire-format names: length bytes are < 64, so only the letters change.
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::uint32_t getInt(const getdns_dict* dict, const char* key, std::uint32_t fallback) {
  std::uint32_t value = 0;
  return getdns_dict_get_int(dict, key, &value) == GETDNS_RETURN_GOOD ? value : fallback;
}

std::string rcodeName(std::uint32_t rcode) {
  switch (rcode) {
    case GETDNS_RCODE_FORMERR: return "FORMERR";
    case GETDNS_RCODE_SERVFAIL: return "SERVFAIL";
    case GETDNS_RCODE_NOTIMP: return "NOTIMP";
    case GETDNS_RCODE_REFUSED: return "REFUSED";
    default: return fmt::format("rcode {}", rcode);
  }
}

// One reply of the replies_tree, reduced to what we classify on.
struct ReplyView {
  std::uint32_t rcode = GETDNS_RCODE_SERVFAIL;
  bool authenticated = false;       // AD bit from the upstream resolver
  std::uint32_t dnssec_status = 0;  // getdns' own validation (GETDNS_DNSSEC_*), 0 when absent
  std::vector<getdns_dict*> rdata;  // rdata of the RRs of the wanted type at the chain's end
  std::uint32_t ttl = UINT32_MAX;   // smallest TTL of those RRs and the CNAMEs on the way
};

// RFC 2308 3: a negative answer is cached for min(SOA TTL, SOA MINIMUM) of the authority
// section's SOA; 0 when there is none.
std::uint32_t negativeTtl(const getdns_dict* reply) {
  getdns_list* authority = nullptr;
  std::size_t count = 0;
  if (getdns_dict_get_list(reply, "authority", &authority) != GETDNS_RETURN_GOOD ||
      getdns_list_get_length(authority, &count) != GETDNS_RETURN_GOOD) {
    return 0;
  }
  for (std::size_t i = 0; i < count; ++i) {
    getdns_dict* rr = nullptr;
    if (getdns_list_get_dict(authority, i, &rr) != GETDNS_RETURN_GOOD ||
        getInt(rr, "type", 0) != GETDNS_RRTYPE_SOA) {
      continue;
    }
    std::uint32_t minimum = 0;
    (void)getdns_dict_get_int(rr, "/rdata/minimum", &minimum);
    return std::min(getInt(rr, "ttl", 0), minimum);
  }
  return 0;
}

ReplyView viewReply(const getdns_dict* reply, std::uint32_t wanted_type) {
  ReplyView view;
  getdns_dict* header = nullptr;
  if (getdns_dict_get_dict(reply, "header", &header) == GETDNS_RETURN_GOOD) {
    view.rcode = getInt(header, "rcode", GETDNS_RCODE_SERVFAIL);
    view.authenticated = getInt(header, "ad", 0) != 0;
  }
  view.dnssec_status = getInt(reply, "dnssec_status", 0);
  getdns_bindata* qname = nullptr;
  getdns_list* answer = nullptr;
  if (getdns_dict_get_bindata(reply, "/question/qname", &qname) != GETDNS_RETURN_GOOD ||
      getdns_dict_get_list(reply, "answer", &answer) != GETDNS_RETURN_GOOD) {
    return view;
  }
  std::size_t count = 0;
  if (getdns_list_get_length(answer, &count) != GETDNS_RETURN_GOOD) return view;

  std::string owner = lowerWire(qname);
  std::uint32_t chain_ttl = UINT32_MAX;  // the CNAMEs followed so far
  for (int hop = 0; hop <= MaxCnameHops; ++hop) {
    std::string next;
    std::uint32_t next_ttl = UINT32_MAX;
    view.rdata.clear();
    view.ttl = chain_ttl;
    for (std::size_t i = 0; i < count; ++i) {
      getdns_dict* rr = nullptr;
      getdns_bindata* name = nullptr;
      getdns_dict* rdata = nullptr;
      if (getdns_list_get_dict(answer, i, &rr) != GETDNS_RETURN_GOOD ||
          getdns_dict_get_bindata(rr, "name", &name) != GETDNS_RETURN_GOOD ||
          getdns_dict_get_dict(rr, "rdata", &rdata) != GETDNS_RETURN_GOOD ||
          lowerWire(name) != owner || getInt(rr, "class", GETDNS_RRCLASS_IN) != GETDNS_RRCLASS_IN) {
        continue;
      }
      std::uint32_t type = getInt(rr, "type", 0);
      getdns_bindata* target = nullptr;
      if (type == wanted_type) {
        view.rdata.push_back(rdata);
        view.ttl = std::min(view.ttl, getInt(rr, "ttl", 0));
      } else if (type == GETDNS_RRTYPE_CNAME &&
                 getdns_dict_get_bindata(rdata, "cname", &target) == GETDNS_RETURN_GOOD) {
        next = lowerWire(target);
        next_ttl = getInt(rr, "ttl", 0);
      }
    }
    if (!view.rdata.empty() || next.empty()) break;
    owner = std::move(next);
    chain_ttl = std::min(chain_ttl, next_ttl);
  }
  return view;
}

std::vector<getdns_dict*> replies(getdns_dict* response) {
  std::vector<getdns_dict*> out;
  getdns_list* tree = nullptr;
  std::size_t count = 0;
  if (getdns_dict_get_list(response, "replies_tree", &tree) != GETDNS_RETURN_GOOD ||
      getdns_list_get_length(tree, &count) != GETDNS_RETURN_GOOD) {
    return out;
  }
  for (std::size_t i = 0; i < count; ++i) {
    getdns_dict* reply = nullptr;
    if (getdns_list_get_dict(tree, i, &reply) == GETDNS_RETURN_GOOD) out.push_back(reply);
  }
  return out;
}

// Why a reply without the wanted records is not an answer; empty for NXDOMAIN/NODATA.
std::string failureOf(const ReplyView& view) {
  if (view.rcode == GETDNS_RCODE_NOERROR || view.rcode == GETDNS_RCODE_NXDOMAIN) return {};
  return rcodeName(view.rcode);
}

std::string timeoutDetail(std::chrono::milliseconds timeout) {
  return fmt::format("timeout after {} ms", timeout.count());
}

std::string statusDetail(std::uint32_t status, std::chrono::milliseconds timeout) {
  if (status == GETDNS_RESPSTATUS_ALL_TIMEOUT) return timeoutDetail(timeout);
  if (status == GETDNS_RESPSTATUS_ALL_BOGUS_ANSWERS) return "DNSSEC bogus";
  return fmt::format("no usable reply (getdns status {})", status);
}

// Owner names come back in wire form; records want "mx.example.com" (no trailing dot).
std::string nameText(const getdns_bindata* wire) {
  char* fqdn = nullptr;
  if (getdns_convert_dns_name_to_fqdn(wire, &fqdn) != GETDNS_RETURN_GOOD || fqdn == nullptr) return {};
  std::string out(fqdn);
  std::free(fqdn);
  if (!out.empty() && out.back() == '.') out.pop_back();
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

DnssecStatus dnssecOf(const ReplyView& view, DnssecMode mode) {
  switch (mode) {
    case DnssecMode::Off: return DnssecStatus::Unchecked;
    case DnssecMode::TrustAd: return view.authenticated ? DnssecStatus::Secure : DnssecStatus::Insecure;
    case DnssecMode::Validate: break;
  }
  switch (view.dnssec_status) {
    case GETDNS_DNSSEC_SECURE: return DnssecStatus::Secure;
    case GETDNS_DNSSEC_BOGUS: return DnssecStatus::Bogus;
    // No trust anchor above the name: nothing says it should be signed (RFC 4035 4.3).
    case GETDNS_DNSSEC_INDETERMINATE:
    case GETDNS_DNSSEC_INSECURE: return DnssecStatus::Insecure;
    default: return DnssecStatus::Unchecked;
  }
}

// The shape every single-type answer shares: reply classification, then one `take` per
// RR of the wanted type at the end of the CNAME chain; no record taken is NoRecord.
template <typename Answer, typename Take>
Answer singleTypeAnswer(getdns_dict* response, const AnswerContext& context,
                        std::uint32_t wanted_type, Take take) {
  Answer answer;
  auto all = replies(response);
  std::uint32_t status = getInt(response, "status", GETDNS_RESPSTATUS_ALL_TIMEOUT);
  if (all.empty()) {
    if (status == GETDNS_RESPSTATUS_NO_NAME && context.dnssec != DnssecMode::Validate) {
      answer.status = DnsStatus::NoRecord;
      answer.detail = "NXDOMAIN";
    } else if (status == GETDNS_RESPSTATUS_NO_NAME) {
      // Validating, getdns leaves bogus replies out unless asked for all statuses (we ask);
      // its NXDOMAIN comes with the reply that proves it. No reply at all proves nothing.
      answer.detail = "no reply to validate";
    } else {
      answer.detail = statusDetail(status, context.timeout);
    }
    return answer;
  }
  ReplyView view = viewReply(all.front(), wanted_type);
  answer.upstream_ad = view.authenticated;
  if (std::string failure = failureOf(view); !failure.empty()) {
    answer.detail = std::move(failure);
    return answer;
  }
  answer.dnssec = dnssecOf(view, context.dnssec);
  if (answer.dnssec == DnssecStatus::Bogus) {
    answer.detail = "DNSSEC bogus (the validation failed)";
    return answer;  // Failed, no records: bogus data is never used
  }
  for (getdns_dict* rdata : view.rdata) take(rdata, answer);
  if (answer.records.empty()) {
    answer.status = DnsStatus::NoRecord;
    answer.detail = view.rcode == GETDNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "NODATA";
    answer.ttl = negativeTtl(all.front());
  } else {
    answer.status = DnsStatus::Ok;
    answer.ttl = view.ttl;
  }
  return answer;
}

}  // namespace

TxtAnswer txtAnswerFromResponse(getdns_dict* response, const AnswerContext& context) {
  return singleTypeAnswer<TxtAnswer>(response, context, GETDNS_RRTYPE_TXT, [](getdns_dict* rdata, TxtAnswer& answer) {
    getdns_list* strings = nullptr;
    std::size_t n = 0;
    if (getdns_dict_get_list(rdata, "txt_strings", &strings) != GETDNS_RETURN_GOOD ||
        getdns_list_get_length(strings, &n) != GETDNS_RETURN_GOOD) {
      return;
    }
    std::vector<std::string> record;
    for (std::size_t i = 0; i < n; ++i) {
      getdns_bindata* s = nullptr;
      if (getdns_list_get_bindata(strings, i, &s) != GETDNS_RETURN_GOOD) continue;
      record.emplace_back(reinterpret_cast<const char*>(s->data), s->size);
    }
    answer.records.push_back(std::move(record));
  });
}

MxAnswer mxAnswerFromResponse(getdns_dict* response, const AnswerContext& context) {
  return singleTypeAnswer<MxAnswer>(response, context, GETDNS_RRTYPE_MX, [](getdns_dict* rdata, MxAnswer& answer) {
    getdns_bindata* exchange = nullptr;
    std::uint32_t preference = 0;
    if (getdns_dict_get_int(rdata, "preference", &preference) != GETDNS_RETURN_GOOD || preference > 0xffff ||
        getdns_dict_get_bindata(rdata, "exchange", &exchange) != GETDNS_RETURN_GOOD) {
      return;
    }
    answer.records.push_back(MxRecord{static_cast<std::uint16_t>(preference), nameText(exchange)});
  });
}

TlsaAnswer tlsaAnswerFromResponse(getdns_dict* response, const AnswerContext& context) {
  return singleTypeAnswer<TlsaAnswer>(response, context, GETDNS_RRTYPE_TLSA, [](getdns_dict* rdata, TlsaAnswer& answer) {
    std::uint32_t usage = 0;
    std::uint32_t selector = 0;
    std::uint32_t mtype = 0;
    getdns_bindata* data = nullptr;
    if (getdns_dict_get_int(rdata, "certificate_usage", &usage) != GETDNS_RETURN_GOOD ||
        getdns_dict_get_int(rdata, "selector", &selector) != GETDNS_RETURN_GOOD ||
        getdns_dict_get_int(rdata, "matching_type", &mtype) != GETDNS_RETURN_GOOD ||
        getdns_dict_get_bindata(rdata, "certificate_association_data", &data) != GETDNS_RETURN_GOOD ||
        usage > 0xff || selector > 0xff || mtype > 0xff) {
      return;
    }
    answer.records.push_back(TlsaRecord{static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                                        static_cast<std::uint8_t>(mtype),
                                        std::string(reinterpret_cast<const char*>(data->data), data->size)});
  });
}

AddressAnswer addressAnswerFromResponse(getdns_dict* response, const AnswerContext& context) {
  AddressAnswer answer;
  auto all = replies(response);
  std::uint32_t status = getInt(response, "status", GETDNS_RESPSTATUS_ALL_TIMEOUT);
  const std::chrono::milliseconds timeout = context.timeout;
  std::string failure;
  bool all_ad = !all.empty();
  // getdns_address asks A and AAAA; a reply missing from the tree is a query that failed.
  if (all.size() < 2 && status != GETDNS_RESPSTATUS_NO_NAME) failure = statusDetail(status, timeout);
  for (getdns_dict* reply : all) {
    for (std::uint32_t type : {std::uint32_t{GETDNS_RRTYPE_AAAA}, std::uint32_t{GETDNS_RRTYPE_A}}) {  // int macros
      ReplyView view = viewReply(reply, type);
      if (type == GETDNS_RRTYPE_AAAA) {
        all_ad = all_ad && view.authenticated;
        if (std::string f = failureOf(view); !f.empty()) failure = std::move(f);
      }
      const char* key = type == GETDNS_RRTYPE_A ? "ipv4_address" : "ipv6_address";
      int family = type == GETDNS_RRTYPE_A ? AF_INET : AF_INET6;
      std::size_t size = type == GETDNS_RRTYPE_A ? 4 : 16;
      for (getdns_dict* rdata : view.rdata) {
        getdns_bindata* addr = nullptr;
        char text[INET6_ADDRSTRLEN] = {};
        if (getdns_dict_get_bindata(rdata, key, &addr) == GETDNS_RETURN_GOOD &&
            addr->size == size && inet_ntop(family, addr->data, text, sizeof text) != nullptr) {
          answer.addresses.emplace_back(text);
        }
      }
    }
  }
  answer.upstream_ad = all_ad;
  if (!answer.addresses.empty()) {
    answer.status = DnsStatus::Ok;
  } else if (!failure.empty()) {
    answer.detail = std::move(failure);
  } else {
    answer.status = DnsStatus::NoRecord;
    answer.detail = status == GETDNS_RESPSTATUS_NO_NAME ? "NXDOMAIN" : "NODATA";
  }
  return answer;
}

bool needsCheckingDisabledProbe(const DnsAnswerMeta& answer) {
  return answer.status == DnsStatus::Failed && answer.detail == rcodeName(GETDNS_RCODE_SERVFAIL);
}

}  // namespace mtasts::net
