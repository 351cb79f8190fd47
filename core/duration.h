#pragma once
// Durations as written in scenario files ("250ms", "1m30s") and their one canonical rendering.
#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

using Duration = std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Accepts one or more <number><unit> groups, units ns, us, ms, s, m, h; decimals allowed
// ("1.5s"). A bare number is refused: the unit is always explicit.
Result<Duration> parse_duration(std::string_view text);

// "0s", "250ms", "1.5s", "2m", "1m30s", "3.2ms"; the inverse of parse_duration for whole values.
std::string format_duration(Duration d);

// Milliseconds as a double, for reports and journals.
double to_ms(Duration d);

}  // namespace faultline
