// Result<T>: a value or an Error, with std::expected's method names so that a later
// switch to std::expected (C++23) is a rename. Error carries a closed code and a detail
// string meant for logs and for operators; never for deciding control flow by text.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace mtasts {

enum class ErrorCode {
  InvalidInput,   // bytes from outside did not parse (netstring, record, policy, config)
  TooLarge,       // a bound was exceeded
  NotFound,       // the thing asked for does not exist (no record, no cache entry)
  Temporary,      // may succeed later (DNS SERVFAIL, timeout, connection refused)
  Timeout,        // a bounded wait ran out
  Io,             // local I/O failed (files, sockets, store)
  Internal,       // a bug or an unexpected library state
};

const char* errorCodeName(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string detail;
};

// Wraps an Error so that a Result<T> can be built from it unambiguously.
struct Unexpected {
  Error error;
};

inline Unexpected fail(ErrorCode code, std::string detail) {
  return Unexpected{Error{code, std::move(detail)}};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Unexpected> &&
                                        !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Result(Unexpected unexpected)  // NOLINT: implicit on purpose, like std::unexpected
      : state_(std::in_place_index<1>, std::move(unexpected.error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(state_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(state_)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Unexpected unexpected) : error_(std::move(unexpected.error)), ok_(false) {}  // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace mtasts
