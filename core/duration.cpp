#include "core/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace faultline {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longest names first so that "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {{"ns", 1},
                           {"us", 1'000},
                           {"ms", 1'000'000},
                           {"s", 1'000'000'000},
                           {"m", 60'000'000'000LL},
                           {"h", 3'600'000'000'000LL}};

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  const std::string quoted = fmt::format("'{}'", text);
  if (text.empty()) return fail("empty duration; write it with a unit, e.g. 500ms or 2s");
  if (text.front() == '-') return fail("duration {} must not be negative", quoted);
  if (text.find_first_of(" \t") != std::string_view::npos)
    return fail("duration {} contains a space; write it without one, e.g. 500ms or 1m30s", quoted);
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // Digits, with an optional fraction kept as an exact integer scaled by 10^fraction_digits.
    int64_t whole = 0;
    int64_t fraction = 0;
    int64_t fraction_scale = 1;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (whole > std::numeric_limits<int64_t>::max() / 10 - 10)
        return fail("duration {} is too large", quoted);
      whole = whole * 10 + (text[i++] - '0');
      ++digits;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (fraction_scale < 1'000'000'000) {
          fraction = fraction * 10 + (text[i] - '0');
          fraction_scale *= 10;
        }
        ++i;
        ++digits;
      }
    }
    if (digits == 0)
      return fail("duration {} is not a number with a unit, e.g. 500ms or 2s", quoted);
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit_name = text.substr(unit_start, i - unit_start);
    if (unit_name.empty())
      return fail("duration {} has no unit; add one of ns, us, ms, s, m, h (e.g. '{}s')", quoted,
                  text.substr(0, unit_start));
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits)
      if (u.name == unit_name) unit = &u;
    if (unit == nullptr)
      return fail("duration {} has unknown unit '{}'; use one of ns, us, ms, s, m, h", quoted,
                  unit_name);
    // 128-bit arithmetic: a nine-digit fraction of an hour overflows 64 bits.
    const __int128 part = static_cast<__int128>(whole) * unit->nanos +
                          static_cast<__int128>(fraction) * unit->nanos / fraction_scale;
    if (part + total > std::numeric_limits<int64_t>::max())
      return fail("duration {} is too large", quoted);
    total += static_cast<int64_t>(part);
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  const int64_t ns = d.count();
  if (ns == 0) return "0s";
  if (ns < 0) return "-" + format_duration(Duration(-ns));
  // Three decimals of `unit`, rounded half up in integers: a double cannot hold every count of
  // nanoseconds above 2^53 (104 days), and rounding twice (to a double, then to three decimals)
  // can move the last digit, so what is shown would read back more than half a digit away.
  auto in_unit = [ns](int64_t unit, std::string_view name) {
    const int64_t thousandth = unit / 1000;
    const int64_t rounded = ns / thousandth + (2 * (ns % thousandth) >= thousandth ? 1 : 0);
    std::string s = fmt::format("{}.{:03}", rounded / 1000, rounded % 1000);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + std::string(name);
  };
  if (ns % 60'000'000'000LL == 0 && ns >= 60'000'000'000LL) {
    const int64_t minutes = ns / 60'000'000'000LL;
    if (minutes % 60 == 0) return fmt::format("{}h", minutes / 60);
    return fmt::format("{}m", minutes);
  }
  if (ns >= 60'000'000'000LL && ns % 1'000'000'000LL == 0) {
    const int64_t seconds = ns / 1'000'000'000LL;
    return fmt::format("{}m{}s", seconds / 60, seconds % 60);
  }
  if (ns >= 1'000'000'000LL) return in_unit(1'000'000'000LL, "s");
  if (ns >= 1'000'000) return in_unit(1'000'000, "ms");
  if (ns >= 1'000) return in_unit(1'000, "us");
  return fmt::format("{}ns", ns);
}

double to_ms(Duration d) {
  return static_cast<double>(d.count()) / 1e6;
}

}  // namespace faultline
