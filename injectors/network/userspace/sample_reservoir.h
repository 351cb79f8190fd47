#pragma once
// A uniform sample of at most `kCapacity` values out of however many were added (Vitter's
// algorithm R), for quantiles that must be exact to the microsecond: how long the userspace
// backend held packets is compared with the delay asked for, which a log-bucketed histogram
// (12.5% wide) cannot tell apart from 90% of it.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace faultline {

class SampleReservoir {
 public:
  static constexpr size_t kCapacity = 65536;

  void add(uint64_t value) {
    ++seen_;
    max_ = std::max(max_, value);
    if (values_.size() < kCapacity) {
      values_.push_back(value);
      return;
    }
    const uint64_t slot = next_random() % seen_;
    if (slot < kCapacity) values_[slot] = value;
  }

  uint64_t seen() const { return seen_; }
  uint64_t max() const { return max_; }
  // The value at `permille` of the sample (nearest rank); 0 when empty.
  uint64_t quantile(int permille) const {
    if (values_.empty()) return 0;
    std::vector<uint64_t> sorted = values_;
    const size_t rank = std::min(sorted.size() - 1,
                                 (sorted.size() * static_cast<size_t>(permille) + 999) / 1000 - 1);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(rank), sorted.end());
    return sorted[rank];
  }

 private:
  uint64_t next_random() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::vector<uint64_t> values_;
  uint64_t seen_ = 0, max_ = 0, state_ = 0x5eed;
};

}  // namespace faultline
