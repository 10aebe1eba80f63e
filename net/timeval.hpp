// The one conversion from a std::chrono duration to the timeval libevent wants. Pure; a
// negative duration becomes zero (an already-due timer fires on the next loop turn).
#pragma once

#include <sys/time.h>

#include <chrono>
#include <cstdint>

namespace mtasts::net {

inline timeval toTimeval(std::chrono::microseconds d) noexcept {
  const std::int64_t us = d.count() < 0 ? 0 : static_cast<std::int64_t>(d.count());
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(us / 1'000'000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(us % 1'000'000);
  return tv;
}

// Finer durations (steady_clock's nanoseconds) are rounded down to whole microseconds.
template <typename Rep, typename Period>
timeval toTimeval(std::chrono::duration<Rep, Period> d) noexcept {
  return toTimeval(std::chrono::duration_cast<std::chrono::microseconds>(d));
}

}  // namespace mtasts::net
