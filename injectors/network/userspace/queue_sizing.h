#pragma once
// How many packets the userspace backend lets the kernel hold for it. A queue too short drops
// packets that the fault was only meant to delay; so, unless the scenario gives `limit`, it is
// sized for rate x delay: the packets that arrive, at full size, while the first one waits out
// the longest likely delay. The rate is the fault's `rate` if given, else the interface's speed,
// else 10 Gbit/s.
#include <cstdint>
#include <optional>
#include <string>

#include "injectors/network/netem_options.h"

namespace faultline {

struct QueueSize {
  uint32_t packets = 1000;
  std::string reason;  // "limit 5000 (given)", "10 Gbit/s (veth0's speed) x 130ms = 108334 packets of 1500 bytes"
};

inline constexpr uint32_t kMinQueuePackets = 1000;
inline constexpr uint32_t kMaxQueuePackets = 1000000;

// `limit` is the scenario's own, when it gave one.
QueueSize size_queue(const NetemOptions& options, std::optional<uint32_t> limit,
                     std::optional<uint64_t> interface_speed_bits, const std::string& interface);

}  // namespace faultline
