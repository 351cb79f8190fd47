#pragma once
// A container pinned for a fault: its init process by (pid, start time), and the cgroups read from
// /proc for that process. A container whose init is gone, or whose pid was reused meanwhile, is
// an error: it is not running, so nothing of it can be hit.
#include "containers/container.h"
#include "core/result.h"
#include "injectors/container/container_scope.h"

namespace faultline {

Result<ContainerScope> pin_container(const Container& container);

}  // namespace faultline
