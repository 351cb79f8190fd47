#pragma once
// io_stress's workers: forked children (they die with faultline: PR_SET_PDEATHSIG) that each
// write an unnamed O_DIRECT file of `file_bytes` once, then read and write random blocks of it
// in the requested mix until told to stop. Each counts its own operations, bytes and latencies
// in memory shared with the parent (one writer per slot), so what is reported is what the
// workers saw, not a guess from the disk's counters.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "injectors/io_stress/latency_histogram.h"

namespace faultline {

struct IoWorkerPlan {
  std::string dir;
  int64_t block = 0;
  int64_t file_bytes = 0;
  int64_t read_basis_points = 0;  // share of operations that are reads, of 10000
};

enum class IoWorkerPhase : int { Waiting = 0, Filling = 1, Running = 2, Stopped = 3, Failed = 4 };

// One worker's counters, in shared memory.
struct IoWorkerSlot {
  std::atomic<int> phase{0};
  std::atomic<int> error{0};        // errno of what failed
  std::atomic<int> failed_step{0};  // 1 open, 2 fill, 3 read, 4 write
  std::atomic<uint64_t> fill_ns{0};
  std::atomic<uint64_t> running_since_ns{0};  // CLOCK_MONOTONIC
  std::atomic<uint64_t> stopped_at_ns{0};
  std::atomic<uint64_t> reads{0}, writes{0}, read_bytes{0}, written_bytes{0};
  std::atomic<uint64_t> read_latency[kLatencyBuckets];
  std::atomic<uint64_t> write_latency[kLatencyBuckets];
};

// A plain copy of a slot, read at one moment.
struct IoWorkerReport {
  pid_t pid = 0;
  IoWorkerPhase phase = IoWorkerPhase::Waiting;
  std::string problem;  // why it failed; empty when it did not
  double fill_seconds = 0;
  double running_seconds = 0;
  uint64_t reads = 0, writes = 0, read_bytes = 0, written_bytes = 0;
  LatencyCounts read_latency{}, write_latency{};
};

// The workers and their shared memory. Movable only by pointer.
class IoWorkers {
 public:
  static Result<std::unique_ptr<IoWorkers>> spawn(const IoWorkerPlan& plan, int count);
  ~IoWorkers();
  IoWorkers(const IoWorkers&) = delete;
  IoWorkers& operator=(const IoWorkers&) = delete;

  const std::vector<pid_t>& pids() const { return pids_; }
  // Lets every worker start (after they joined their cgroup).
  void start();
  // Asks them to stop after their current operation, waits up to `grace_ms`, then SIGKILLs
  // and reaps whatever is left. Idempotent.
  void stop(int grace_ms);
  std::vector<IoWorkerReport> reports() const;

 private:
  IoWorkers() = default;
  struct Board;
  static constexpr size_t kSlotsOffset = 64;  // after the Board, on its own cache line
  IoWorkerSlot& slot(size_t i) const;
  Board* board_ = nullptr;
  size_t board_bytes_ = 0;
  std::vector<pid_t> pids_;
  std::vector<int> pidfds_;
  std::vector<int> go_fds_;
  bool reaped_ = false;
};

}  // namespace faultline
