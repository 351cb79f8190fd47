#pragma once
// Bandwidth and sizes as written in scenarios: "1mbit", "500kbit", "10mbps" (bytes), "32kb".
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

// Bits per second: bit, kbit, mbit, gbit (x1000), or bytes per second: bps, kbps, mbps, gbps.
Result<uint64_t> parse_rate_bits(std::string_view text);
// Bytes: b, kb, mb (x1024), e.g. "32kb".
Result<uint64_t> parse_size_bytes(std::string_view text);

std::string format_rate_bits(uint64_t bits_per_second);

}  // namespace faultline
