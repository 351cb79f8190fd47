#pragma once
// What a probe may ask for, in one place. `validate` checks a scenario's probes against these,
// preflight checks the probes that run on agents, and the agent checks every RunProbe request
// with the same functions: a probe that validates is never refused for its size at run time.
// Header-only, so that both ends of the wire (agent/wire/wire.cpp) can use it without a library cycle.
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/duration.h"
#include "injectors/process/selector.h"

namespace faultline::probe_limits {

// Timeouts and max_latency: long enough for any real check, short enough that one check cannot
// tie up an agent's RPC thread or delay the end of a run for long.
inline constexpr Duration kMaxTimeout = std::chrono::seconds(60);
// A pattern (core/user_regex.h) is a few words; this bounds what an agent compiles for a request.
inline constexpr size_t kMaxRegex = 1024;
inline constexpr size_t kMaxUrl = 2048;
inline constexpr size_t kMaxCommand = 4096;
inline constexpr size_t kMaxHost = 255;  // a DNS name
// Process selectors: the limits are the injectors' own (injectors/process/selector.h).
using faultline::kMaxSelectorName;
using faultline::kMaxSelectorPath;

namespace detail {
inline std::string timeout_words(std::string_view what, std::string_view given) {
  return fmt::format(
      "{} {} is longer than the {} a probe may take (on agents too); give {} or "
      "less",
      what, given, format_duration(kMaxTimeout), format_duration(kMaxTimeout));
}
}  // namespace detail

// A timeout or max_latency. `what` names the field as its reader knows it.
inline std::optional<std::string> timeout_problem(std::string_view what, Duration d) {
  if (d <= kMaxTimeout) return std::nullopt;
  return detail::timeout_words(what, format_duration(d));
}

// The same in the wire's milliseconds, which may be too many for a Duration.
inline std::optional<std::string> timeout_ms_problem(std::string_view what, uint64_t ms) {
  if (ms <= static_cast<uint64_t>(to_ms(kMaxTimeout))) return std::nullopt;
  return detail::timeout_words(what, fmt::format("{}ms", ms));
}

// A text field (URL, regex, command, host, selector field) of at most `max` characters. The
// selector limits are the agent's for faults' selectors too (agent/daemon/fault_service.cpp).
inline std::optional<std::string> length_problem(std::string_view what, std::string_view text,
                                                 size_t max) {
  if (text.size() <= max) return std::nullopt;
  return fmt::format(
      "{} is {} characters long, more than the {} allowed (on agents too); "
      "shorten it to {} or fewer",
      what, text.size(), max, max);
}

}  // namespace faultline::probe_limits
