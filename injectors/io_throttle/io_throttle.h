#pragma once
#include "injectors/injector.h"

namespace faultline {
// Limits the read and write rate of a target's cgroup on the disk behind a path (cgroup v2
// io.max, v1 blkio.throttle.*), puts the previous limits back exactly, and shows the throttle
// with a timed direct-I/O probe in the target's cgroup.
InjectorDescriptor io_throttle_descriptor();
}  // namespace faultline
