#pragma once
// Addresses and ports as a network fault's scope names them: CIDR blocks (IPv4 and IPv6) and
// port ranges, parsed and checked in one place for every network kind.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace faultline {

struct Cidr {
  int family = 4;                     // 4 or 6
  std::array<uint8_t, 16> address{};  // network byte order; IPv4 uses the first 4 bytes
  int prefix = 32;                    // bits that must match

  // "10.0.0.0/8", "fd00::1/128".
  std::string text() const;
  bool operator==(const Cidr&) const = default;
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  std::string text() const;
  bool operator==(const PortRange&) const = default;
};

// "10.0.0.0/8", "192.168.1.5" (a host: /32), "fd00::/64"; host bits set below the prefix are
// refused, because they are almost always a typo for another network.
Result<Cidr> parse_cidr(std::string_view text);
// Comma-separated CIDRs.
Result<std::vector<Cidr>> parse_cidr_list(std::string_view text);
// "80", "8000-8080", comma-separated: "80,443,8000-8080".
Result<std::vector<PortRange>> parse_port_list(std::string_view text);

// Splits a port range into value/mask pairs that cover exactly the range (for u32-style
// matching, which compares masked values).
std::vector<std::pair<uint16_t, uint16_t>> port_range_masks(PortRange range);

// Whether `host` (an IP address without brackets) is 127.0.0.0/8 or ::1. A name such as
// "localhost" is not: where it resolves is not known here.
bool is_loopback_address(std::string_view host);

}  // namespace faultline
