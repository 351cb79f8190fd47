// netem_enqueue (net/sched/sch_netem.c, Linux 6.x) step by step, with its random draws in the
// kernel's order, so that correlations and the Gilbert-Elliott state move as they do there.
// Where userspace cannot do what the kernel does, it comes as close as it can:
// - corruption flips a bit among the bytes userspace sees (from the network header on); netem
//   picks among the skb's linear bytes, which include the link layer header;
// - `limit` is left to the queue (PacketQueueConfig::max_packets);
// - under `rate`, a packet whose time has come counts as gone: the kernel may still hold it for
//   an instant, which changes a release only when a negative delay (a table's tail) meets it.
#include "injectors/network/userspace/packet_fate.h"

#include <algorithm>
#include <cstdlib>

namespace faultline {
namespace {

uint32_t complement(Percent p) {
  return percent_to_probability(Percent{10000 - p.basis_points});
}

}  // namespace

PacketModel::PacketModel(const NetemOptions& options, std::vector<int16_t> table,
                         uint32_t link_header_bytes, uint64_t seed)
    : options_(options),
      table_(std::move(table)),
      link_header_bytes_(link_header_bytes),
      random_(seed),
      latency_ns_(options.delay.count()),
      jitter_ns_(
          static_cast<int32_t>(std::min<int64_t>(std::llabs(options.jitter.count()), INT32_MAX))),
      loss_(percent_to_probability(options.loss)),
      duplicate_(percent_to_probability(options.duplicate)),
      corrupt_(percent_to_probability(options.corrupt)),
      reorder_(percent_to_probability(options.reorder)),
      // tc sets gap 1 for a reorder given without one (q_netem.c); netem reorders nothing at gap 0.
      gap_(options.reorder.basis_points > 0 ? std::max<uint32_t>(options.reorder_gap, 1) : 0),
      // The kernel's rate is in bytes per second, as faultline sends it (rate_bits / 8).
      rate_bytes_(options.rate_bits / 8),
      ge_p_(percent_to_probability(options.ge_p)),
      ge_r_(percent_to_probability(options.ge_r)),
      ge_h_(percent_to_probability(options.ge_h)),
      ge_1_minus_k_(complement(options.ge_k)),
      // init_crandom starts each correlated stream at a random value. The duplicate, reorder and
      // corrupt correlations are 0: NetemOptions has none.
      delay_cor_(percent_to_probability(options.delay_correlation), random_.next()),
      loss_cor_(percent_to_probability(options.loss_correlation), random_.next()),
      dup_cor_(0, random_.next()) {}

PacketFate PacketModel::next(int64_t arrival_ns, uint32_t length) {
  PacketFate fate;
  // The duplicate draw comes first, and a duplicated packet survives its loss draw: netem counts
  // 1 + duplicate - loss copies.
  int count = 1;
  if (duplicate_ != 0 && duplicate_ >= dup_cor_.next(random_)) ++count;
  if (loss_event()) --count;
  if (count == 0) {
    fate.drop = true;
    return fate;
  }
  // The copy is cloned before the original is corrupted, and corrupted (or not) on its own pass.
  fate.corrupt_bit = corruption(length);
  if (count > 1 && !loss_event()) {
    fate.duplicate = true;
    fate.copy.corrupt_bit = corruption(length);
    const Slot slot = schedule(arrival_ns, length);
    fate.copy.release_ns = slot.release_ns;
    fate.copy.reordered = slot.reordered;
  }
  const Slot slot = schedule(arrival_ns, length);
  fate.release_ns = slot.release_ns;
  fate.reordered = slot.reordered;
  return fate;
}

bool PacketModel::loss_event() {
  if (options_.gilbert_elliott) return gilbert_elliott_loss();
  return loss_ != 0 && loss_ >= loss_cor_.next(random_);
}

// loss_gilb_ell: the state at arrival decides the loss, and the state moves first for the next
// packet; lost in the good state when a draw is below 1 - k, in the bad state when above h.
bool PacketModel::gilbert_elliott_loss() {
  if (!ge_bad_) {
    if (random_.next() < ge_p_) ge_bad_ = true;
    return random_.next() < ge_1_minus_k_;
  }
  if (random_.next() < ge_r_) ge_bad_ = false;
  return random_.next() > ge_h_;
}

std::optional<uint32_t> PacketModel::corruption(uint32_t length) {
  if (corrupt_ == 0 || corrupt_ < random_.next()) return std::nullopt;
  if (length == 0) return std::nullopt;  // nothing to flip; netem never sees an empty packet
  const uint32_t byte = random_.below(length);
  return byte * 8 + random_.below(8);
}

PacketModel::Slot PacketModel::schedule(int64_t arrival_ns, uint32_t length) {
  Slot slot;
  // Picked for reordering (sent at once, ahead of the queue) only outside the gap after the last
  // one; the reorder draw happens only then.
  const bool delayed = gap_ == 0 || counter_ < gap_ - 1 || reorder_ < random_.next();
  if (!delayed) {
    slot.release_ns = arrival_ns;
    slot.reordered = true;
    counter_ = 0;
  } else {
    int64_t delay = latency_ns_;
    if (jitter_ns_ != 0)
      delay = netem_tabledist(latency_ns_, jitter_ns_, delay_cor_.next(random_), table_);
    int64_t now = arrival_ns;
    if (rate_bytes_ != 0) {
      // Behind the queued packet that leaves last: what is left of the delay after it, then this
      // packet's own time on the wire (packet_time_ns, truncated like div64_u64).
      if (last_release_ns_ > arrival_ns) {
        delay = std::max<int64_t>(0, delay - (last_release_ns_ - now));
        now = last_release_ns_;
      }
      const uint64_t bytes = static_cast<uint64_t>(length) + link_header_bytes_;
      delay += static_cast<int64_t>(bytes * 1'000'000'000ULL / rate_bytes_);
    }
    slot.release_ns = now + delay;
    ++counter_;
  }
  last_release_ns_ = std::max(last_release_ns_, slot.release_ns);
  return slot;
}

}  // namespace faultline
