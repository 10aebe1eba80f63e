// The policy domain Postfix 3.10+ reports a session under: the host part of the next-hop
// destination it delivered to (smtp_connect.c: smtp_parse_destination(), then
// smtp_tlsrpt_create_wrapper(state, domain) unless the domain is an IP address). Pure.
// A log-only reader sees the recipient domain and the relay host, never the relayhost,
// transport_maps or sender_dependent_relayhost_maps setting that chose the next hop: those
// come from the caller (MaillogSessionsConfig).
#pragma once

#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

struct NextHop {
  std::string domain;       // lower case, no brackets, port or trailing dot
  bool reportable = false;  // false for IP literals and empty names: Postfix reports nothing
};

// "[host]:port", "[host]", "host:port", "host" or a domain, as in relayhost / transport.
NextHop nextHopOf(std::string_view destination);

// relayhost may list several destinations (Postfix >= 3.5, comma or space separated); Postfix
// reports for the one it delivered to. That is the "[host]" entry naming `relay_host` when the
// log shows it, else the first entry (a non-bracketed entry is an MX lookup: its relay host
// does not name it).
NextHop relayNextHop(std::string_view relayhost_list, std::string_view relay_host);

}  // namespace mtasts::tlsrpt
