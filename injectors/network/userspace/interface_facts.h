#pragma once
// What the userspace backend needs to know about the interface it acts on, read in the calling
// thread's network namespace: whether it exists, the length of its link-layer header (netem's
// `rate` counts it, and userspace sees packets only from the network header on) and its speed
// (to size the queue when no rate is given).
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace faultline {

struct InterfaceFacts {
  int ifindex = 0;
  uint32_t link_header_bytes = 0;      // 14 on Ethernet (and veth), 0 on loopback, tun, ...
  std::optional<uint64_t> speed_bits;  // as ethtool reports it, when the driver knows
};

Result<InterfaceFacts> read_interface_facts(const std::string& interface);

}  // namespace faultline
