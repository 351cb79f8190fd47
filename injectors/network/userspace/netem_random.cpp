#include "injectors/network/userspace/netem_random.h"

namespace faultline {

uint32_t NetemRandom::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<uint32_t>((z ^ (z >> 31)) >> 32);
}

uint32_t NetemRandom::below(uint32_t bound) {
  // Lemire's multiply-and-reject: the high half of next * bound, redrawn in the rare cases that
  // would favour the low values.
  uint64_t product = static_cast<uint64_t>(next()) * bound;
  if (static_cast<uint32_t>(product) < bound) {
    const uint32_t threshold = -bound % bound;
    while (static_cast<uint32_t>(product) < threshold)
      product = static_cast<uint64_t>(next()) * bound;
  }
  return static_cast<uint32_t>(product >> 32);
}

uint32_t CorrelatedRandom::next(NetemRandom& random) {
  if (rho_ == 0) return random.next();
  const uint64_t fresh = random.next();
  const uint64_t rho = static_cast<uint64_t>(rho_) + 1;  // 1 .. 2^32, as the kernel widens it
  last_ = static_cast<uint32_t>((fresh * ((1ULL << 32) - rho) + last_ * rho) >> 32);
  return last_;
}

int64_t netem_tabledist(int64_t mu, int32_t sigma, uint32_t rnd, std::span<const int16_t> table) {
  if (sigma == 0) return mu;
  if (table.empty())
    return static_cast<int64_t>(rnd % (2 * static_cast<uint32_t>(sigma))) + mu - sigma;
  // Split sigma so that nothing overflows: the remainder part is rounded to nearest (halves away
  // from zero), then both parts divide with C's truncation toward zero, exactly as the kernel.
  const int64_t t = table[rnd % table.size()];
  int64_t x = (sigma % kNetemDistScale) * t;
  x += x >= 0 ? kNetemDistScale / 2 : -kNetemDistScale / 2;
  return x / kNetemDistScale + (sigma / kNetemDistScale) * t + mu;
}

}  // namespace faultline
