#pragma once
// cpu_stress workers as tests see them. Tests run two at a time (ctest -j2) beside a soak that
// starts workers of its own, so a test counts only the workers of the process it started, never
// every "faultline-cpu" on the machine. A worker is forked under its parent's name and renames
// itself a moment later (PR_SET_NAME), so a count is waited for, not read once.
#include <sys/types.h>

#include <chrono>
#include <vector>

#include "core/poll.h"
#include "injectors/process/proc.h"

namespace faultline::test {

// The live (not zombie) workers whose parent is `parent`.
inline std::vector<pid_t> cpu_workers_of(pid_t parent) {
  std::vector<pid_t> pids;
  for (const ProcessInfo& p : scan_processes())
    if (p.ppid == parent && p.comm == "faultline-cpu" && p.state != 'Z') pids.push_back(p.pid);
  return pids;
}

// Waits up to two seconds for `parent` to have `count` workers; returns them as last seen.
inline std::vector<pid_t> wait_for_cpu_workers(pid_t parent, size_t count) {
  std::vector<pid_t> pids;
  poll_until([&] { return (pids = cpu_workers_of(parent)).size() == count; },
             std::chrono::seconds(2), std::chrono::milliseconds(10));
  return pids;
}

// How many of `pids` are still alive as CPU workers (a reused pid has another name).
inline size_t still_working(const std::vector<pid_t>& pids) {
  size_t n = 0;
  for (pid_t pid : pids) {
    auto p = read_process_stat(pid);
    n += p && p->state != 'Z' && p->comm == "faultline-cpu" ? 1 : 0;
  }
  return n;
}

// Waits up to two seconds for every one of `pids` to be gone; returns how many are left.
inline size_t wait_until_gone(const std::vector<pid_t>& pids) {
  size_t left = 0;
  poll_until([&] { return (left = still_working(pids)) == 0; }, std::chrono::seconds(2),
             std::chrono::milliseconds(10));
  return left;
}

}  // namespace faultline::test
