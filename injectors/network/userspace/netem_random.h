#pragma once
// netem's random numbers, drawn as net/sched/sch_netem.c draws them, for PacketModel: a seeded
// generator of 32-bit values (the kernel's prandom_u32_state; any good generator gives the same
// distributions), the correlated numbers of get_crandom and the delays of tabledist. Kept apart
// from PacketModel so that the tests can look at each piece on its own.
#include <cstdint>
#include <span>

namespace faultline {

// splitmix64, returning the high 32 bits: fast, seeded, and passes BigCrush; a run is
// reproducible from its seed.
class NetemRandom {
 public:
  explicit NetemRandom(uint64_t seed) : state_(seed) {}
  uint32_t next();
  // Uniform in [0, bound), bound > 0, without modulo bias (the kernel's get_random_u32_below).
  uint32_t below(uint32_t bound);

 private:
  uint64_t state_;
};

// get_crandom: each number leans on the previous one by rho (a u32 fraction of 2^32-1, as
// percent_to_probability gives it; 0 means independent numbers). The kernel's arithmetic:
// next = (fresh * (2^32 - (rho+1)) + last * (rho+1)) >> 32. The numbers are then no longer
// uniform (they crowd around the middle), which is why netem's correlated loss loses fewer
// packets than asked; see the tests.
class CorrelatedRandom {
 public:
  // `start` is the kernel's init_crandom value (a random u32).
  CorrelatedRandom(uint32_t rho, uint32_t start) : rho_(rho), last_(start) {}
  uint32_t next(NetemRandom& random);

 private:
  uint32_t rho_;
  uint32_t last_;
};

// NETEM_DIST_SCALE: a distribution table holds values of 1/8192 standard deviations.
inline constexpr int64_t kNetemDistScale = 8192;

// tabledist for a drawn `rnd`: mu itself when sigma is 0 (the caller then draws nothing); with no
// table, uniform in [mu - sigma, mu + sigma) as rnd % (2 sigma); with a table, the entry
// rnd % size scaled by sigma / 8192 with the kernel's rounding. Values in nanoseconds; sigma is
// the jitter capped at INT32_MAX as netem_change caps it.
int64_t netem_tabledist(int64_t mu, int32_t sigma, uint32_t rnd, std::span<const int16_t> table);

}  // namespace faultline
