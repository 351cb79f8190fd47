#pragma once
// What the kernel counts for one NFQUEUE: packets it dropped because the queue already held its
// maximum, and packets it could not hand to the listening socket because that socket's buffer was
// full. Read from /proc/net/netfilter/nfnetlink_queue, which exists per network namespace: the
// file is opened in the queue's namespace and read again later from any thread.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.h"

namespace faultline {

struct KernelQueueCounters {
  uint64_t queue_dropped = 0;  // the queue was full (no fail-open)
  uint64_t user_dropped = 0;   // the netlink socket's receive buffer was full
};

// The counters of `queue_number` in the file's text, whose lines read
//   queue portid total copy_mode copy_range queue_dropped user_dropped id_sequence 1
// Empty when the queue has no line (not bound).
std::optional<KernelQueueCounters> parse_kernel_queue_counters(std::string_view text,
                                                               uint16_t queue_number);

// The file of the calling thread's network namespace, kept open.
class KernelQueueCounterFile {
 public:
  static Result<KernelQueueCounterFile> open();
  KernelQueueCounterFile(KernelQueueCounterFile&& other) noexcept;
  KernelQueueCounterFile& operator=(KernelQueueCounterFile&& other) noexcept;
  ~KernelQueueCounterFile();

  // The queue's counters as the kernel has them now; empty when the queue has no line.
  Result<std::optional<KernelQueueCounters>> read(uint16_t queue_number) const;

 private:
  explicit KernelQueueCounterFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace faultline
