#include "core/percent.h"

#include <cctype>

namespace faultline {

Result<Percent> parse_percent(std::string_view text) {
  const std::string_view original = text;
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  if (!text.empty() && text.front() == '-')
    return fail("percentage '{}' must not be negative", original);
  int64_t whole = 0;
  size_t i = 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (whole > 1'000'000'000) return fail("percentage '{}' is too large", original);
    whole = whole * 10 + (text[i++] - '0');
    ++digits;
  }
  int64_t hundredths = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int fraction_digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (++fraction_digits > 2)
        return fail("percentage '{}' has more than two decimals", original);
      hundredths = hundredths * 10 + (text[i++] - '0');
      ++digits;
    }
    if (fraction_digits == 1) hundredths *= 10;
  }
  if (digits == 0 || i != text.size())
    return fail("'{}' is not a percentage; write e.g. 80% or 12.5%", original);
  return Percent{whole * 100 + hundredths};
}

std::string format_percent(Percent p) {
  const int64_t whole = p.basis_points / 100;
  const int64_t rest = p.basis_points % 100;
  if (rest == 0) return fmt::format("{}%", whole);
  if (rest % 10 == 0) return fmt::format("{}.{}%", whole, rest / 10);
  return fmt::format("{}.{:02}%", whole, rest);
}

}  // namespace faultline
