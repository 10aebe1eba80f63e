#include "sts/policy.hpp"

namespace mtasts::sts {

std::string_view modeName(Mode mode) noexcept {
  switch (mode) {
    case Mode::Enforce: return "enforce";
    case Mode::Testing: return "testing";
    case Mode::None: return "none";
  }
  return "none";
}

}  // namespace mtasts::sts
