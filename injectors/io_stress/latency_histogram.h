#pragma once
// Latencies of I/O operations as the workers measure them, in log-linear buckets: four per
// power of two of nanoseconds, so a percentile read from them is within 12.5% of the true value,
// and a worker records an operation with one increment (no allocation, no lock: the counts live
// in memory shared with the parent).
#include <array>
#include <atomic>
#include <cstdint>

namespace faultline {

inline constexpr int kLatencyBuckets = 192;

// The bucket of a latency in nanoseconds.
int latency_bucket(uint64_t ns);
// The latencies bucket `index` holds: [lower, upper).
uint64_t latency_bucket_lower(int index);
uint64_t latency_bucket_upper(int index);

using LatencyCounts = std::array<uint64_t, kLatencyBuckets>;

// The latency at quantile `permille` (500: the median, 990: p99) of the counts: the middle of the
// bucket the quantile falls in; 0 when there are no counts.
uint64_t latency_quantile(const LatencyCounts& counts, int permille);

}  // namespace faultline
