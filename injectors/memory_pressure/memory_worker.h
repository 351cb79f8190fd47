#pragma once
// A memory worker: a forked child that maps anonymous memory, writes incompressible data to every
// page (all at once, or in steps over a ramp) and then sleeps holding it. It reports its progress
// on a pipe, with its own clock readings, so the parent learns when the level was reached and how
// long it took however late it reads.
#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "core/duration.h"
#include "core/result.h"

namespace faultline {

// One progress report, as the worker writes it (a fixed-size record; a pipe write this small is
// atomic).
struct MemoryProgress {
  int64_t touched = 0;      // bytes written so far
  int64_t at_ns = 0;        // CLOCK_MONOTONIC when it was written
  uint64_t address = 0;     // where the fill is mapped (to find it in /proc/PID/smaps)
  int32_t done = 0;         // 1: every byte is written and the worker now holds them
  int32_t error = 0;        // errno of a failed mmap; the worker exits after reporting it
};

struct MemoryWorker {
  pid_t pid = 0;
  int go_fd = -1;        // write end: the worker starts when a byte arrives (after joining its cgroup)
  int progress_fd = -1;  // read end, non-blocking
  int64_t bytes = 0;
  // What the reports said so far.
  std::optional<MemoryProgress> first;
  std::optional<MemoryProgress> last;
  // Once reaped: the wait status (a worker that died on its own, e.g. OOM-killed).
  std::optional<int> exit_status;
};

// Forks a worker that will hold `bytes`, reached over `ramp` (zero: at once). It dies with this
// process (PR_SET_PDEATHSIG) and waits for start_memory_worker.
Result<MemoryWorker> spawn_memory_worker(int64_t bytes, Duration ramp, uint64_t seed);

void start_memory_worker(MemoryWorker& worker);

// Reads the reports that arrived and reaps a worker that died; never blocks.
void poll_memory_worker(MemoryWorker& worker);

// SIGKILL and reap; idempotent.
void stop_memory_worker(MemoryWorker& worker);

}  // namespace faultline
