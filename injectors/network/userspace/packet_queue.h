#pragma once
// The userspace network backend's hot path: a thread that reads the packets the kernel hands to
// one NFQUEUE (queue_rules.h sends them), asks PacketModel what happens to each, holds the
// delayed ones by their packet id alone (the kernel keeps the packet) and gives each its verdict
// when its time comes: accept, drop, or accept with a changed payload (a flipped bit). Verdicts
// may come late and out of order; several go to the kernel in one sendmsg. A duplicate is a copy
// sent through a raw socket with kUserspaceBypassMark, so that it is not queued again; a copy of
// a received packet goes to the local address it was sent to, through loopback.
//
// Uses libnetfilter_queue's netlink helpers over a libmnl socket, no exec in the hot path.
// Fail-safe: a queue bound with NFQUEUE's `bypass` lets packets through once its socket closes;
// the kernel drops what the queue held then (at most one delay's worth) and nothing is held
// forever. stop() releases every held packet at once.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "injectors/network/netem_options.h"

namespace faultline {

struct PacketQueueConfig {
  uint16_t queue_number = 0;
  // Packets the kernel may hold for us; one more is dropped by the kernel and counted.
  uint32_t max_packets = 1000;
  NetemOptions options;          // delay, jitter, loss, duplicate, corrupt, reorder, rate
  std::vector<int16_t> table;    // the distribution table, empty for uniform
  uint32_t link_header_bytes = 14;
  uint64_t seed = 0;
};

// A distribution of times in microseconds: how late the verdicts went out after each packet's
// release time (not counting the kernel's own path: what userspace costs), or how long packets
// were held.
struct Lateness {
  uint64_t samples = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
};

struct PacketQueueStats {
  uint64_t received = 0;        // packets the kernel handed to us
  uint64_t egress = 0, ingress = 0;
  uint64_t released = 0;        // accepted (after their delay)
  uint64_t dropped = 0;         // lost by the model (loss, Gilbert-Elliott)
  uint64_t duplicated = 0;      // copies sent
  uint64_t duplicate_errors = 0;
  uint64_t corrupted = 0;
  uint64_t reordered = 0;       // sent at once, ahead of delayed ones
  uint64_t queue_full = 0;      // dropped by the kernel: the queue held max_packets already
  uint64_t netlink_lost = 0;    // dropped by the kernel: our socket's buffer was full
  // Dropped by the kernel while held: it empties every queue of a network namespace when a
  // netfilter hook there is removed (another fault's nftables table or iptables rules, say).
  uint64_t flushed_by_kernel = 0;
  uint64_t held_now = 0, held_max = 0;
  Lateness lateness;
  // How long the packets released on schedule were held: from when the queue read each to its
  // verdict. What the fault added to their way, as measured on them.
  Lateness held;
};

class PacketQueue {
 public:
  // Binds the queue in the calling thread's network namespace (its sockets are made there; the
  // thread that serves them may run anywhere), then starts serving. Refused when the queue
  // number is taken.
  static Result<std::unique_ptr<PacketQueue>> start(PacketQueueConfig config);
  ~PacketQueue();  // stop()
  PacketQueue(const PacketQueue&) = delete;
  PacketQueue& operator=(const PacketQueue&) = delete;

  // Releases every held packet at once, stops the thread and unbinds; idempotent.
  Result<void> stop();
  PacketQueueStats stats() const;

 private:
  PacketQueue() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// A queue number for a new fault: free in the calling thread's namespace as far as this process
// knows (0xfa00 + a counter); start() refuses one that another program holds.
uint16_t next_queue_number();

}  // namespace faultline
