// libFuzzer target for the report sender's stored records (tlsrpt/report_state_codec.hpp).
// The whole input is tried as a state key and as each kind of value. Invariants: a key that
// parses is written back byte for byte by its key function; a value that decodes re-encodes
// to exactly the input (canonical) and decodes again to the same record; refusals say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlsrpt/report_state_codec.hpp"

namespace {

using namespace mtasts::tlsrpt;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto key = parseStateKey(bytes)) {
    switch (key->kind) {
      case StateKey::Kind::DayPlan: check(dayPlanKey(key->day) == bytes); break;
      case StateKey::Kind::Report: check(reportKey(key->day, key->domain) == bytes); break;
      case StateKey::Kind::Delivery: check(deliveryKey(key->day, key->domain, key->index) == bytes); break;
    }
  } else {
    check(!key.error().detail.empty());
  }

  if (auto plan = decodeDayPlan(bytes)) {
    check(encodeDayPlan(*plan) == bytes);
    check(*decodeDayPlan(encodeDayPlan(*plan)) == *plan);
  } else {
    check(!plan.error().detail.empty());
  }

  if (auto report = decodeStoredReport(bytes)) {
    auto again = encodeStoredReport(*report);
    check(again.has_value() && *again == bytes);
    check(*decodeStoredReport(*again) == *report);
  } else {
    check(!report.error().detail.empty());
  }

  if (auto delivery = decodeDelivery(bytes)) {
    auto again = encodeDelivery(*delivery);
    check(again.has_value() && *again == bytes);
    check(*decodeDelivery(*again) == *delivery);
  } else {
    check(!delivery.error().detail.empty());
  }
  return 0;
}
