#pragma once
// What io_throttle acts on: the cgroup of its target (a container, or the processes its
// selector picks, which must share one cgroup) in the hierarchy that holds the io controller,
// and the disk behind its path.
#include <string>

#include "core/result.h"
#include "injectors/block/block_device.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup_hierarchy.h"

namespace faultline {

struct ThrottleTarget {
  CgroupHierarchy hierarchy;
  std::string cgroup;  // the path in the hierarchy, "/test/app"
  std::string dir;     // its directory
  std::string who;     // "docker container web (3f2a9c1b7d0e)", "2 processes (pidfile=/run/x.pid)"
  BlockDevice device;
};

// Reads the host and changes nothing. Refused: no target, targets in different cgroups or in
// the root cgroup, a protected process sharing the target's cgroup, a path on a protected
// filesystem or on no block device.
Result<ThrottleTarget> find_throttle_target(const FaultRequest& request);

}  // namespace faultline
