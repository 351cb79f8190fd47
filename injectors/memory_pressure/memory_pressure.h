#pragma once
#include "injectors/injector.h"

namespace faultline {
// Holds memory with worker processes that write incompressible data to every page and then sleep,
// in a cgroup of their own with a limit just above the request, or charged to the target's cgroup
// so that its limit is what gets tested; cgroup v1 or v2.
InjectorDescriptor memory_pressure_descriptor();
}  // namespace faultline
