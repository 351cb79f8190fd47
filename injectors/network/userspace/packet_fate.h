#pragma once
// What happens to one packet under a network fault, decided in userspace exactly as the kernel's
// netem qdisc decides it (net/sched/sch_netem.c): correlated random numbers (get_crandom), the
// delay distribution tables (tabledist), loss at random or by the Gilbert-Elliott model,
// duplication, corruption, reordering with a gap, and a rate at which packets leave one after
// another. The userspace backend (packet_queue.h) asks it about every packet it holds; nothing
// here touches the system, so it is tested on its own with a fixed seed.
#include <cstdint>
#include <optional>
#include <vector>

#include "injectors/network/netem_options.h"

namespace faultline {

struct PacketFate {
  bool drop = false;       // lost (loss or the Gilbert-Elliott model): no other field applies
  bool duplicate = false;  // one more copy leaves with it
  // A bit to flip (bit index into the packet, counted from its first byte), when corrupted.
  std::optional<uint32_t> corrupt_bit;
  // When the packet leaves, in nanoseconds on the caller's clock (CLOCK_MONOTONIC): the arrival
  // for a packet sent at once (no delay, or picked by reorder), later for a delayed one.
  int64_t release_ns = 0;
};

class PacketModel {
 public:
  // `table` is the delay distribution (read_distribution), empty for uniform jitter.
  // `link_header_bytes` is added to each packet's length for `rate`, as netem counts the link
  // layer header it sees (14 on Ethernet and veth) and userspace sees packets from the network
  // header on. `seed` makes a run reproducible; the journal records it.
  PacketModel(const NetemOptions& options, std::vector<int16_t> table, uint32_t link_header_bytes,
              uint64_t seed);

  // The fate of the next packet of `length` bytes (from its network header) arriving at
  // `arrival_ns`. Calls come in arrival order.
  PacketFate next(int64_t arrival_ns, uint32_t length);

  const NetemOptions& options() const { return options_; }

 private:
  // (the implementation's state: random generator, correlation states, Gilbert-Elliott state,
  // reorder counter, the release time of the last delayed packet for `rate`)
  NetemOptions options_;
  std::vector<int16_t> table_;
  uint32_t link_header_bytes_;
  uint64_t rng_state_;
};

}  // namespace faultline
