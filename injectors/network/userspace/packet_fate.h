#pragma once
// What happens to one packet under a network fault, decided in userspace exactly as the kernel's
// netem qdisc decides it (net/sched/sch_netem.c): correlated random numbers (get_crandom), the
// delay distribution tables (tabledist), loss at random or by the Gilbert-Elliott model,
// duplication, corruption, reordering with a gap, and a rate at which packets leave one after
// another. The userspace backend (packet_queue.h) asks it about every packet it holds; nothing
// here touches the system, so it is tested on its own with a fixed seed.
#include <climits>
#include <cstdint>
#include <optional>
#include <vector>

#include "injectors/network/netem_options.h"
#include "injectors/network/userspace/netem_random.h"

namespace faultline {

struct PacketFate {
  bool drop = false;       // lost (loss or the Gilbert-Elliott model): no other field applies
  bool duplicate = false;  // one more copy leaves too: `copy` says when and how
  // A bit to flip when corrupted: byte corrupt_bit / 8 of the packet (from its first byte), mask
  // 1 << (corrupt_bit % 8), as netem flips it.
  std::optional<uint32_t> corrupt_bit;
  // When the packet leaves, in nanoseconds on the caller's clock (CLOCK_MONOTONIC): the arrival
  // for a packet sent at once (no delay, or picked by reorder), later for a delayed one.
  int64_t release_ns = 0;
  bool reordered = false;  // picked by reorder: sent at once, ahead of the delayed ones

  // The copy, when `duplicate`. netem clones the packet before corrupting it and puts the clone
  // through the qdisc tree again (netem_enqueue's rootq->enqueue, duplication switched off), so
  // the copy gets a loss decision, a corruption, a reorder pick and a delay of its own; a copy
  // that this second pass lost leaves `duplicate` false.
  struct Copy {
    std::optional<uint32_t> corrupt_bit;
    int64_t release_ns = 0;
    bool reordered = false;
  } copy;
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
  struct Slot {
    int64_t release_ns = 0;
    bool reordered = false;
  };
  bool loss_event();
  bool gilbert_elliott_loss();
  std::optional<uint32_t> corruption(uint32_t length);
  // Reorder or delay (and rate): the second half of netem_enqueue.
  Slot schedule(int64_t arrival_ns, uint32_t length);

  NetemOptions options_;
  std::vector<int16_t> table_;
  uint32_t link_header_bytes_;
  NetemRandom random_;

  // The options in the kernel's units, as netem_change holds them.
  int64_t latency_ns_;
  int32_t jitter_ns_;  // capped at INT32_MAX as netem_change caps it
  uint32_t loss_, duplicate_, corrupt_, reorder_;
  uint32_t gap_;         // 0: no reordering; tc sends 1 for a reorder without a gap
  uint64_t rate_bytes_;  // per second; 0: no rate
  // Gilbert-Elliott as the kernel's clgstate holds it: a1 = p, a2 = r, a3 = h (the chance to get
  // through in the bad state), a4 = 1 - k (the chance to be lost in the good state).
  uint32_t ge_p_, ge_r_, ge_h_, ge_1_minus_k_;
  bool ge_bad_ = false;

  CorrelatedRandom delay_cor_, loss_cor_, dup_cor_;
  uint32_t counter_ = 0;  // netem's q->counter: packets delayed since the last reorder
  // The latest release time handed out. While it lies ahead of an arrival, it is the queued
  // packet that leaves last, the one a new packet waits behind under `rate`.
  int64_t last_release_ns_ = INT64_MIN;
};

}  // namespace faultline
