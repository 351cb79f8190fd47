#include "injectors/io_stress/latency_histogram.h"

#include <bit>

namespace faultline {

int latency_bucket(uint64_t ns) {
  if (ns < 4) return static_cast<int>(ns);
  const int e = 63 - std::countl_zero(ns);  // ns in [2^e, 2^(e+1)), e >= 2
  const int index = 4 * (e - 1) + static_cast<int>((ns >> (e - 2)) & 3);
  return index < kLatencyBuckets ? index : kLatencyBuckets - 1;
}

uint64_t latency_bucket_lower(int index) {
  if (index < 4) return static_cast<uint64_t>(index);
  const int e = index / 4 + 1;
  return static_cast<uint64_t>(4 + index % 4) << (e - 2);
}

uint64_t latency_bucket_upper(int index) {
  if (index < 4) return static_cast<uint64_t>(index) + 1;
  const int e = index / 4 + 1;
  return static_cast<uint64_t>(5 + index % 4) << (e - 2);
}

uint64_t latency_quantile(const LatencyCounts& counts, int permille) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  // The smallest bucket whose running count reaches ceil(total * permille / 1000).
  const uint64_t rank = (total * static_cast<uint64_t>(permille) + 999) / 1000;
  uint64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += counts[static_cast<size_t>(i)];
    if (seen >= rank && seen > 0)
      return (latency_bucket_lower(i) + latency_bucket_upper(i)) / 2;
  }
  return latency_bucket_upper(kLatencyBuckets - 1);
}

}  // namespace faultline
