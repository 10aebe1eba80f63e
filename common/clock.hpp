// Clock: the one source of "now" for policy logic, injected so that tests run the cache
// and refresh rules on a ManualClock with no sleeps. Wall time is whole Unix seconds
// (what RFC 8461 max_age and RFC 8460 report days are measured in).
#pragma once

#include <cstdint>

namespace mtasts {

using UnixSeconds = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixSeconds now() const override;
};

// For tests: time moves only when the test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixSeconds start = 1'700'000'000) : now_(start) {}
  UnixSeconds now() const override { return now_; }
  void set(UnixSeconds t) { now_ = t; }
  void advance(UnixSeconds seconds) { now_ += seconds; }

 private:
  UnixSeconds now_;
};

}  // namespace mtasts
