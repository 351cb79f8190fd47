#pragma once
// The standard views of CPU use that monitoring reads, so cpu_stress can report (and its tests
// and benchmark can check) its load as users' tools see it:
// - /proc/stat: per-CPU tick accounting (top, mpstat, node_exporter). At each tick the kernel
//   charges the whole tick to whatever runs, so a duty cycle in phase with the tick hides.
// - the cgroup's accounting: cgroup v2 cpu.stat usage_usec, v1 cpuacct.usage (precise), and
//   v1 cpuacct.usage_user + usage_sys, which are the same tick samples as /proc/stat, charged
//   to the cgroup.
// - /proc/PID/schedstat: the scheduler's precise run time of one task.
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline {

// Busy seconds (user, nice, system, irq, softirq, steal) of one CPU, or of all when cpu < 0,
// from /proc/stat. Idle and iowait are left out.
Result<double> proc_stat_busy_seconds(int cpu);

// usage_usec of a cgroup v2 directory's cpu.stat, in seconds.
Result<double> cgroup2_usage_seconds(const std::string& dir);

// A cgroup v1 cpuacct directory's counters, in seconds.
struct CpuacctUsage {
  double precise = 0;  // cpuacct.usage
  double ticks = 0;    // cpuacct.usage_user + cpuacct.usage_sys (tick samples)
};
Result<CpuacctUsage> cpuacct_usage_seconds(const std::string& dir);

// Where the cgroup v1 cpuacct controller is mounted, if it is.
std::optional<std::string> cpuacct_mount();

}  // namespace faultline
