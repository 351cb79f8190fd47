#include "controller/gameday/slug.h"

namespace faultline {

std::string slug(std::string_view text, std::string_view fallback) {
  std::string out;
  bool gap = false;
  for (const char c : text) {
    const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z',
               digit = c >= '0' && c <= '9';
    if (!lower && !upper && !digit) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out += '-';
    out += upper ? static_cast<char>(c - 'A' + 'a') : c;
    gap = false;
  }
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace faultline
