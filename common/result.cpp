#include "common/result.hpp"

namespace mtasts {

const char* errorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidInput: return "invalid-input";
    case ErrorCode::TooLarge: return "too-large";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::Temporary: return "temporary";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Io: return "io";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace mtasts
