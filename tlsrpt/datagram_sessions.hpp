// What one parsed libtlsrpt datagram adds to the TLS-RPT day aggregate, counted the way
// sys4's tlsrpt-collectd counts it (so both give the same totals on the same stream):
// one session per entry of "policies"; "f" decides success or failure; every
// failure-details entry adds one to its own detail row, whatever "t" and "f" say.
// Pure function, no I/O, no state; the caller adds the result under the UTC day it received
// the datagram.
#pragma once

#include <string>
#include <vector>

#include "tlsrpt/datagram.hpp"
#include "tlsrpt/report_types.hpp"

namespace mtasts::tlsrpt {

// One session as the report counts it.
struct SessionOutcome {
  PolicyDescriptor policy;  // policy-domain is the datagram's "d" when it named none
  bool failed = false;      // counts in total-failure- (true) or total-successful-session-count
  // Each row adds 1 to the failed-session-count of the identical row. receiving-mx-helo is
  // derived from the EHLO reply (heloNameFromEhlo); other fields are the datagram's.
  std::vector<FailureDetail> failure_details;

  bool operator==(const SessionOutcome&) const = default;
};

struct DatagramSessions {
  std::string report_domain;  // "d": whose report these sessions go into
  std::string tlsrpt_record;  // "pr": the record whose rua receives that report
  std::vector<SessionOutcome> sessions;  // one per policy, in datagram order

  bool operator==(const DatagramSessions&) const = default;
};

// Takes the datagram by value: pass it as an rvalue and its strings move, not copy.
DatagramSessions sessionsOf(Datagram datagram);

}  // namespace mtasts::tlsrpt
