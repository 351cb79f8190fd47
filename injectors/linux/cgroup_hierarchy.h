#pragma once
// Which cgroup hierarchy holds a resource controller, and where a process's cgroup is in it.
// Resource faults (memory, I/O) work on pure cgroup v2 hosts, where everything is in one tree,
// and on v1 or hybrid hosts, where `memory` and `blkio` each have a hierarchy of their own. The
// controller is named by its v2 name ("memory", "io"); on v1, "io" is the blkio hierarchy.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace faultline {

enum class CgroupVersion { V1, V2 };

struct CgroupHierarchy {
  std::string controller;  // the v2 name: "memory" or "io"
  CgroupVersion version = CgroupVersion::V2;
  std::string mount;       // "/sys/fs/cgroup", or "/sys/fs/cgroup/memory" for a v1 hierarchy

  bool v2() const { return version == CgroupVersion::V2; }
  // "cgroup v2 (/sys/fs/cgroup)" or "cgroup v1 blkio (/sys/fs/cgroup/blkio)": what plan shows.
  std::string describe() const;
};

// The hierarchy in which `controller` can be used: the v2 tree when its root lists the
// controller in cgroup.controllers, else the v1 hierarchy mounted with it. An error says that
// neither has it and how to get it (a kernel without the controller, or cgroup_disable=).
Result<CgroupHierarchy> find_cgroup_hierarchy(std::string_view controller);

// The cgroup path (as /proc/PID/cgroup writes it: "/system.slice/x.service") of process `pid` in
// the hierarchy; "/" for the root.
Result<std::string> process_cgroup_path(pid_t pid, const CgroupHierarchy& hierarchy);

// The directory of a cgroup path in the hierarchy.
std::string cgroup_directory(const CgroupHierarchy& hierarchy, std::string_view cgroup_path);

// Where faultline's own cgroup for `purpose` goes in this hierarchy: beside faultline's own
// cgroup there (its parent), named faultline-PID-PURPOSE-N like every faultline cgroup, so that
// remove_cgroup undo steps and leftover scans know it. Reserved, not created.
std::string reserve_owned_cgroup(const CgroupHierarchy& hierarchy, const std::string& purpose);

// On v2 a controller only works in a cgroup when its parent lists it in cgroup.subtree_control.
// Enables the hierarchy's controller in `parent` and every ancestor below the mount that lacks
// it; returns the directories it was enabled in (empty when nothing had to change, and always on
// v1). Enabling is not undone: other cgroups may use it by the time the fault ends, and systemd
// enables memory and io everywhere on a default host anyway.
Result<std::vector<std::string>> enable_controller_below(const CgroupHierarchy& hierarchy,
                                                         const std::string& parent);

// Reads a whole cgroup control file ("max\n", "8:0 rbps=1048576 ...\n"); nullopt when it cannot
// be read.
std::optional<std::string> read_cgroup_file(const std::string& path);

// One number from a cgroup file that holds one ("memory.current", "memory.max"): nullopt for
// "max", for a file that cannot be read, and for anything else that is not a whole number.
std::optional<int64_t> read_cgroup_number(const std::string& path);

// A "key value" line's value from a flat-keyed file (memory.events, memory.stat, cgroup.events).
std::optional<int64_t> read_cgroup_key(const std::string& path, std::string_view key);

}  // namespace faultline
