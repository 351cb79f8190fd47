#include "injectors/network/rate.h"

#include <cctype>
#include <charconv>
#include <span>

namespace faultline {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

Result<uint64_t> parse_with_units(std::string_view text, std::span<const Unit> units,
                                  std::string_view what, std::string_view example) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  uint64_t value = 0;
  if (digits == 0 || std::from_chars(text.data(), text.data() + digits, value).ec != std::errc())
    return fail("{} '{}' is not a number with a unit, e.g. {}", what, text, example);
  const std::string_view unit = text.substr(digits);
  for (const Unit& u : units) {
    if (u.name != unit) continue;
    if (value == 0) return fail("{} '{}' must be more than zero", what, text);
    if (value > UINT64_MAX / u.factor) return fail("{} '{}' is too large", what, text);
    return value * u.factor;
  }
  std::string names;
  for (const Unit& u : units) names += (names.empty() ? "" : ", ") + std::string(u.name);
  return fail("{} '{}' has no known unit; use one of {} (e.g. {})", what, text, names, example);
}

constexpr Unit kRateUnits[] = {{"bit", 1}, {"kbit", 1000}, {"mbit", 1000000}, {"gbit", 1000000000},
                               {"bps", 8}, {"kbps", 8000}, {"mbps", 8000000}, {"gbps", 8000000000}};
constexpr Unit kSizeUnits[] = {{"b", 1}, {"kb", 1024}, {"mb", 1024 * 1024}};

}  // namespace

Result<uint64_t> parse_rate_bits(std::string_view text) {
  return parse_with_units(text, kRateUnits, "rate", "1mbit or 500kbit");
}

Result<uint64_t> parse_size_bytes(std::string_view text) {
  return parse_with_units(text, kSizeUnits, "size", "32kb");
}

std::string format_rate_bits(uint64_t bits) {
  if (bits % 1000000000 == 0) return fmt::format("{}gbit", bits / 1000000000);
  if (bits % 1000000 == 0) return fmt::format("{}mbit", bits / 1000000);
  if (bits % 1000 == 0) return fmt::format("{}kbit", bits / 1000);
  return fmt::format("{}bit", bits);
}

}  // namespace faultline
