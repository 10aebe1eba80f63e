// The one guard at every boundary where a C library (libevent, getdns) calls into our code:
// no exception may unwind through C frames. callGuarded() runs the callback, catches what it
// throws, logs "<what>: internal error error=..." on the module's logger and returns false,
// so the trampoline can fail that one request or connection and nothing else. Loop thread.
#pragma once

#include <exception>
#include <string_view>
#include <utility>

namespace mtasts::net {

// Logs a caught exception (`error` null: not a std::exception). Never throws.
void logCallbackFailure(std::string_view module, std::string_view what, const char* error) noexcept;

// Runs fn(); true when it returned normally, false when it threw (logged here).
template <typename Fn>
[[nodiscard]] bool callGuarded(std::string_view module, std::string_view what, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (const std::exception& e) {
    logCallbackFailure(module, what, e.what());
  } catch (...) {
    logCallbackFailure(module, what, nullptr);
  }
  return false;
}

}  // namespace mtasts::net
