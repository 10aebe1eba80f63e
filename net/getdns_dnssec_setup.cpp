#include "net/getdns_dnssec_setup.hpp"

#include "net/c_handles.hpp"

#include <arpa/inet.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace mtasts::net {
namespace {

using GetdnsListPtr = CHandle<getdns_list, &getdns_list_destroy>;

Result<void> check(getdns_return_t rc, const char* what) {
  if (rc == GETDNS_RETURN_GOOD) return {};
  return fail(ErrorCode::Internal, fmt::format("{}: {}", what, getdns_get_errorstr_by_id(rc)));
}

constexpr long MaxTrustAnchorFileBytes = 1 << 20;  // root.key is under 1 KiB

bool loopbackAddress(const getdns_bindata* address) {
  if (address->size == 4) return address->data[0] == 127;
  if (address->size != 16) return false;
  static constexpr std::uint8_t Loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::uint8_t Mapped4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(address->data, Loopback6, 16) == 0 ||
         (std::memcmp(address->data, Mapped4, 12) == 0 && address->data[12] == 127);
}

}  // namespace

Result<void> loadTrustAnchors(getdns_context* context, const std::string& path) {
  if (path.empty()) return fail(ErrorCode::InvalidInput, "no DNSSEC trust anchor file configured");
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "re"), &std::fclose);
  if (!file) {
    return fail(ErrorCode::Io, fmt::format("DNSSEC trust anchor file {}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(::fileno(file.get()), &st) != 0 || st.st_size > MaxTrustAnchorFileBytes) {
    return fail(ErrorCode::InvalidInput, fmt::format("DNSSEC trust anchor file {}: not a file of at most 1 MiB", path));
  }
  getdns_list* raw = nullptr;
  // No origin: getdns 1.6 refuses every file when given "." (names in the file are absolute).
  if (getdns_fp2rr_list(file.get(), &raw, nullptr, 3600) != GETDNS_RETURN_GOOD || raw == nullptr) {
    if (raw != nullptr) getdns_list_destroy(raw);
    return fail(ErrorCode::InvalidInput, fmt::format("DNSSEC trust anchor file {}: not in zone-file form", path));
  }
  GetdnsListPtr records(raw);
  std::size_t count = 0;
  std::size_t anchors = 0;
  (void)getdns_list_get_length(records.get(), &count);
  for (std::size_t i = 0; i < count; ++i) {
    getdns_dict* rr = nullptr;
    std::uint32_t type = 0;
    if (getdns_list_get_dict(records.get(), i, &rr) == GETDNS_RETURN_GOOD &&
        getdns_dict_get_int(rr, "type", &type) == GETDNS_RETURN_GOOD &&
        (type == GETDNS_RRTYPE_DS || type == GETDNS_RRTYPE_DNSKEY)) {
      ++anchors;
    }
  }
  if (anchors == 0) {
    return fail(ErrorCode::InvalidInput, fmt::format("DNSSEC trust anchor file {}: no DS or DNSKEY record", path));
  }
  return check(getdns_context_set_dnssec_trust_anchors(context, records.get()), "trust anchors");
}

Result<void> upstreamsOnLoopback(getdns_context* context) {
  getdns_list* raw = nullptr;
  if (getdns_context_get_upstream_recursive_servers(context, &raw) != GETDNS_RETURN_GOOD || raw == nullptr) {
    return fail(ErrorCode::InvalidInput, "cannot list the resolvers");
  }
  GetdnsListPtr upstreams(raw);
  std::size_t count = 0;
  (void)getdns_list_get_length(upstreams.get(), &count);
  if (count == 0) return fail(ErrorCode::InvalidInput, "no resolver configured");
  for (std::size_t i = 0; i < count; ++i) {
    getdns_dict* upstream = nullptr;
    getdns_bindata* address = nullptr;
    if (getdns_list_get_dict(upstreams.get(), i, &upstream) != GETDNS_RETURN_GOOD ||
        getdns_dict_get_bindata(upstream, "address_data", &address) != GETDNS_RETURN_GOOD) {
      return fail(ErrorCode::InvalidInput, "cannot read a resolver's address");
    }
    if (!loopbackAddress(address)) {
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(address->size == 4 ? AF_INET : AF_INET6, address->data, text, sizeof text);
      return fail(ErrorCode::InvalidInput, fmt::format("resolver {} is not on loopback", text));
    }
  }
  return {};
}

}  // namespace mtasts::net
