#include "core/byte_size.h"

#include <cmath>

namespace faultline {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t factor;
};

// Longest suffixes first, so "MiB" is not read as "M" followed by junk.
constexpr Unit kUnits[] = {
    {"KiB", kKiB},  {"MiB", kMiB},     {"GiB", kGiB},         {"TiB", 1024 * kGiB},
    {"Ki", kKiB},   {"Mi", kMiB},      {"Gi", kGiB},          {"Ti", 1024 * kGiB},
    {"kB", 1000},   {"KB", 1000},      {"MB", 1'000'000},     {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000}, {"k", 1000}, {"K", 1000},      {"M", 1'000'000},
    {"G", 1'000'000'000},      {"T", 1'000'000'000'000},      {"B", 1},
};

constexpr int64_t kMaxBytes = int64_t{1} << 62;

}  // namespace

Result<ByteSize> parse_byte_size(std::string_view text) {
  const auto hint = [&] {
    return fail("'{}' is not a size; write a whole number of bytes or one with a unit, e.g. "
                "4096, 512MiB, 2GiB (KiB, MiB, GiB, TiB: powers of 1024; kB, MB, GB, TB: of 1000)",
                text);
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return hint();
  std::string_view suffix = text.substr(digits);
  while (suffix.starts_with(' ')) suffix.remove_prefix(1);
  int64_t factor = 1;
  if (!suffix.empty()) {
    factor = 0;
    for (const Unit& u : kUnits)
      if (u.suffix == suffix) factor = u.factor;
    if (factor == 0) return hint();
  }
  int64_t number = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (number > kMaxBytes / 10) return fail("'{}' is too large (at most 4EiB)", text);
    number = number * 10 + (text[i] - '0');
  }
  if (number > kMaxBytes / factor) return fail("'{}' is too large (at most 4EiB)", text);
  return ByteSize{number * factor};
}

std::string format_byte_size(ByteSize size) {
  constexpr Unit kBinary[] = {{"TiB", 1024 * kGiB}, {"GiB", kGiB}, {"MiB", kMiB}, {"KiB", kKiB}};
  if (size.bytes != 0)
    for (const Unit& u : kBinary)
      if (size.bytes % u.factor == 0) return fmt::format("{}{}", size.bytes / u.factor, u.suffix);
  return std::to_string(size.bytes);
}

std::string human_bytes(double bytes) {
  constexpr std::string_view kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  double value = bytes;
  while (std::fabs(value) >= 1024.0 && unit + 1 < std::size(kNames)) {
    value /= 1024.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", value);
  return fmt::format("{:.{}f} {}", value, std::fabs(value) >= 100 ? 0 : (std::fabs(value) >= 10 ? 1 : 2),
                     kNames[unit]);
}

}  // namespace faultline
