// libFuzzer target for the netstring codec (postfix/netstring.hpp).
// Input 1: the bytes as a socketmap stream, decoded netstring after netstring like the server
// does. Input 2: the bytes as a payload, encoded then decoded again (round trip).
// Invariants are checked with abort() so they also hold in release builds.
#include "postfix/netstring.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

using mtasts::postfix::appendNetstring;
using mtasts::postfix::decodeNetstring;
using mtasts::postfix::NetstringStatus;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void decodeStream(std::string_view stream, std::size_t limit) {
  while (true) {
    const auto v = decodeNetstring(stream, limit);
    if (v.status != NetstringStatus::Complete) {
      require(v.consumed == 0 && v.payload.empty());
      return;
    }
    require(v.consumed > 0 && v.consumed <= stream.size());
    require(v.payload.size() <= limit);
    require(v.payload.data() >= stream.data() &&
            v.payload.data() + v.payload.size() <= stream.data() + stream.size());
    // Lengths have exactly one spelling (no leading zeros), so re-encoding reproduces the
    // consumed bytes exactly.
    std::string again;
    appendNetstring(again, v.payload);
    require(again == stream.substr(0, v.consumed));
    stream.remove_prefix(v.consumed);
  }
}

void roundTrip(std::string_view payload) {
  std::string wire;
  appendNetstring(wire, payload);
  const auto whole = decodeNetstring(wire, std::numeric_limits<std::size_t>::max());
  require(whole.status == NetstringStatus::Complete);
  require(whole.payload == payload && whole.consumed == wire.size());
  require(decodeNetstring(wire, payload.size()).status == NetstringStatus::Complete);
  if (!payload.empty()) {
    require(decodeNetstring(wire, payload.size() - 1).status == NetstringStatus::TooLong);
  }
  // Split across reads: a strict prefix is never Complete nor an error.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, wire.size() / 2, wire.size() - 1}) {
    if (n < wire.size()) {
      require(decodeNetstring(std::string_view(wire).substr(0, n), payload.size()).status ==
              NetstringStatus::Incomplete);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  decodeStream(bytes, 10000);  // Postfix's query limit
  decodeStream(bytes, 16);     // small limit: TooLong paths
  decodeStream(bytes, std::numeric_limits<std::size_t>::max());  // overflow paths
  roundTrip(bytes);
  return 0;
}
