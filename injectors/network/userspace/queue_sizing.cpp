#include "injectors/network/userspace/queue_sizing.h"

#include <algorithm>

#include "injectors/network/rate.h"

namespace faultline {

QueueSize size_queue(const NetemOptions& o, std::optional<uint32_t> limit,
                     std::optional<uint64_t> interface_speed_bits, const std::string& interface) {
  if (limit) return {*limit, fmt::format("limit {} (given)", *limit)};
  std::string source;
  uint64_t bits = 10'000'000'000ULL;
  if (o.rate_bits > 0) {
    bits = o.rate_bits;
    source = "the fault's rate";
  } else if (interface_speed_bits) {
    bits = *interface_speed_bits;
    source = interface + "'s speed";
  } else {
    source = "assumed: " + interface + " reports no speed";
  }
  // The longest likely hold: the delay plus four times the jitter (beyond the normal and pareto
  // tables' bulk), and at least 1 ms so that a burst without delay has room too.
  const Duration hold = std::max<Duration>(o.delay + 4 * o.jitter, std::chrono::milliseconds(1));
  const long double packets =
      static_cast<long double>(bits) / 8 * std::chrono::duration<long double>(hold).count() / 1500;
  const auto needed = static_cast<uint64_t>(std::min<long double>(packets + 0.999L, 1e12L));
  const auto sized = static_cast<uint32_t>(
      std::clamp<uint64_t>(needed, kMinQueuePackets, kMaxQueuePackets));
  std::string reason = fmt::format("{} ({}) x {} = {} packets of 1500 bytes",
                                   format_rate_bits(bits), source, format_duration(hold), needed);
  if (sized > needed) reason += fmt::format("; raised to the minimum {}", sized);
  if (sized < needed) reason += fmt::format("; capped at {}", sized);
  return {sized, reason};
}

}  // namespace faultline
