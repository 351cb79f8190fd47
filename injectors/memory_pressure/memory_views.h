#pragma once
// What memory_pressure reads from the host: /proc/meminfo, a cgroup's usage, limit and OOM
// counters in either cgroup version, pressure (PSI) files, and a worker's resident bytes.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "injectors/linux/cgroup_hierarchy.h"
#include "injectors/resource/resource_bounds.h"  // read_meminfo

namespace faultline {


// memory.current (v2) or memory.usage_in_bytes (v1); nullopt where the cgroup has no such file
// (a v2 cgroup whose parent did not enable the memory controller).
std::optional<int64_t> cgroup_memory_usage(const CgroupHierarchy& h, const std::string& dir);
// memory.max (v2) or memory.limit_in_bytes (v1); nullopt for "max" and for v1's "no limit"
// (a number at or above 2^62).
std::optional<int64_t> cgroup_memory_limit(const CgroupHierarchy& h, const std::string& dir);
// The file that holds the limit, for messages.
std::string cgroup_memory_limit_file(const CgroupHierarchy& h);
// Processes killed by the OOM killer: v2 memory.events oom_kill (this cgroup and below); v1
// memory.oom_control oom_kill (processes of this cgroup itself).
std::optional<int64_t> cgroup_oom_kills(const CgroupHierarchy& h, const std::string& dir);
// Times the limit was hit: v2 memory.events oom (the limit was reached and reclaim failed), v1
// memory.failcnt (a charge failed at the limit).
std::optional<int64_t> cgroup_limit_hits(const CgroupHierarchy& h, const std::string& dir);

// One line of a PSI file ("some avg10=0.12 avg60=... total=1234").
struct PressureLine {
  double avg10 = 0;
  int64_t total_us = 0;
};
struct Pressure {
  PressureLine some;
  PressureLine full;
};
std::optional<Pressure> read_pressure(const std::string& file);

// Resident bytes of the mapping that starts at `address` in /proc/PID/smaps, and the process's
// VmRSS (/proc/PID/status).
std::optional<int64_t> mapping_resident_bytes(pid_t pid, uint64_t address);
std::optional<int64_t> process_vm_rss(pid_t pid);
// utime + stime of /proc/PID/stat, in clock ticks.
std::optional<int64_t> process_cpu_ticks(pid_t pid);

}  // namespace faultline
