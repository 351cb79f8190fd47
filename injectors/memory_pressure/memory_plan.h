#pragma once
// What a memory_pressure request means on this host now: which hierarchy, which cgroup the
// workers go in (their own, or below the target's), how many bytes they hold, and whether the host
// can give it. reach_check shows it as plan's line; prepare() makes it again where it is applied.
// Reads the host, changes nothing.
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup_hierarchy.h"

namespace faultline {

struct MemoryTarget {
  std::string what;  // "the cgroup of processes cmdline='x'" or "docker container web (...)"
  std::string dir;   // its cgroup directory in the memory hierarchy
  std::optional<int64_t> limit;
  int64_t usage = 0;
};

struct MemoryPlan {
  CgroupHierarchy hierarchy;
  bool into_target = false;
  bool fill_to = false;
  int64_t level = 0;   // the request in bytes: to add, or the target's usage to reach (fill_to)
  int64_t to_add = 0;  // what the workers hold (fill_to: the level minus the usage now)
  std::optional<MemoryTarget> target;
  std::string parent_dir;  // where the workers' cgroup goes
  int64_t mem_total = 0;
  int64_t mem_available = 0;
  int64_t reserve = 0;  // MemAvailable that no fault may take

  // plan's line: "hold 512MiB in a cgroup of its own, cgroup v1 memory (...); 9% of MemAvailable".
  std::string line() const;
};

// The host's reserve: the larger of 256 MiB and 5% of MemTotal.
int64_t memory_reserve(int64_t mem_total);

// Refuses what is above the resource bounds, or above MemAvailable minus the reserve unless a
// target's limit below that caps it; an error names the figures and the fix.
Result<MemoryPlan> plan_memory_pressure(const FaultRequest& request);

// The overhead the workers' own cgroup allows above the request: page tables (8 bytes per 4 KiB
// page), each worker's stack and the pages it copies from faultline on write.
int64_t own_cgroup_limit(int64_t to_add, int64_t workers);

}  // namespace faultline
