#pragma once
// Sizes in bytes, as users write them: "4096", "512MiB", "2Gi", "1G". The binary units (Ki, Mi,
// Gi, Ti, with or without a trailing B) are powers of 1024; the decimal ones (k/K, M, G, T, with
// or without B) powers of 1000, as in Kubernetes quantities. A number alone is bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

struct ByteSize {
  int64_t bytes = 0;
  auto operator<=>(const ByteSize&) const = default;
};

inline constexpr int64_t kKiB = 1024;
inline constexpr int64_t kMiB = 1024 * kKiB;
inline constexpr int64_t kGiB = 1024 * kMiB;

// Whole numbers only ("1.5GiB" is refused: write 1536MiB); at most 2^62 bytes.
Result<ByteSize> parse_byte_size(std::string_view text);

// The largest binary unit that divides the size exactly: "512MiB", "1GiB", "1000000B" is
// "1000000", "1536KiB". parse_byte_size(format_byte_size(x)) == x.
std::string format_byte_size(ByteSize size);

// For people, rounded: "1.50 GiB", "12.0 MiB", "512 B".
std::string human_bytes(double bytes);

}  // namespace faultline
