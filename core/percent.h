#pragma once
// Exact percentages: stored as hundredths of a percent (basis points), never as floats, so that
// "12.5%" compares, prints and converts the same way everywhere.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

struct Percent {
  int64_t basis_points = 0;  // 1% == 100

  static constexpr Percent whole(int64_t percent) { return Percent{percent * 100}; }
  double as_fraction() const { return static_cast<double>(basis_points) / 10000.0; }
  double as_percent() const { return static_cast<double>(basis_points) / 100.0; }
  auto operator<=>(const Percent&) const = default;
};

// "80", "80%", "12.5%", "0.01%": at most two decimals. Range checks belong to the caller.
Result<Percent> parse_percent(std::string_view text);

// "80%", "12.5%", "0.01%".
std::string format_percent(Percent p);

}  // namespace faultline
