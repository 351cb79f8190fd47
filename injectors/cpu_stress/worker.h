#pragma once
// A CPU stress worker: a forked child that keeps one CPU busy for `load` of the time.
#include <sys/types.h>

#include <optional>

#include "core/percent.h"
#include "core/result.h"

namespace faultline {

struct CpuWorker {
  pid_t pid = 0;
  int go_fd = -1;  // write end; the worker starts when a byte arrives (after joining its cgroup)
};

// Forks a worker that dies with this process (PR_SET_PDEATHSIG), pinned to `cpu` if given.
Result<CpuWorker> spawn_cpu_worker(Percent load, std::optional<int> cpu);

// Lets a spawned worker start.
void start_cpu_worker(CpuWorker& worker);

// SIGKILL and reap; idempotent.
void stop_cpu_worker(CpuWorker& worker);

}  // namespace faultline
