#pragma once
// The blast radius of the resource faults (memory_pressure, disk_fill, io_stress, io_throttle):
// how much memory one fault may hold, and which filesystems none of them may touch. The scenario
// (blast_radius.max_memory, blast_radius.protected_paths) and the agent's policy (the same keys,
// which no controller can loosen) both fill it in; each kind checks it in its reach_check, which
// plan and run call before anything is touched and the kind's prepare() calls again on the host
// that applies it.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/percent.h"
#include "core/result.h"

namespace faultline {

struct MemoryBound {
  std::optional<int64_t> bytes;    // "2GiB"
  std::optional<Percent> percent;  // "50%": of the host's MemTotal
  std::string text() const;        // as written
};

struct ProtectedPath {
  std::string path;
  std::string source;  // "blast_radius.protected_paths" or "the agent's policy.protected_paths"
};

struct ResourceBounds {
  // The most memory one fault may hold on one host; the tighter of the scenario's and the
  // agent's when both are set.
  std::optional<MemoryBound> max_memory;
  std::optional<MemoryBound> agent_max_memory;
  // Filesystems no resource fault may fill, stress or throttle: a fault's path is refused when it
  // is on the same filesystem (st_dev) as one of these.
  std::vector<ProtectedPath> protected_paths;
};

// "2GiB" (a size, core/byte_size.h, above 0) or "50%" (of MemTotal, 0.01% to 100%).
Result<MemoryBound> parse_memory_bound(std::string_view text);

// A protected path as written: absolute, without "." or ".." parts, at most 4096 characters.
// It need not exist (it is looked up on the host where the fault runs).
Result<void> check_protected_path_text(std::string_view path);

// The host's MemTotal and MemAvailable in bytes (/proc/meminfo, read once); nullopt when either
// cannot be read.
struct MemInfo {
  int64_t total = 0;
  int64_t available = 0;
};
std::optional<MemInfo> read_meminfo();

// Refuses `bytes` of memory for one fault when it is above max_memory or agent_max_memory; the
// message names the bound, its source and what to change.
Result<void> check_memory_bound(int64_t bytes, const ResourceBounds& bounds);

// Refuses a path that is on the same filesystem as a protected path (the message names both and
// the source of the protection). A protected path that does not exist on this host protects
// nothing. `path` itself must exist.
Result<void> check_path_bound(const std::string& path, const ResourceBounds& bounds);

}  // namespace faultline
