#pragma once
// Which network namespace a network fault acts in, the same way for every kind that has one:
// the `netns` parameter (a name under /run/netns or a path), else the network namespace of the
// fault's container (FaultRequest::container), else the namespace of the first process the
// fault's target selects, else faultline's own.
#include "injectors/injector.h"
#include "injectors/network/netns.h"

namespace faultline {

// The `netns` parameter, as every network kind declares it.
ParamSpec netns_param_spec();

// Opens the namespace `request` names (see above); for a target, resolving its processes is the
// only thing done, and nothing changes on the host.
Result<NetnsHandle> fault_netns(const FaultRequest& request);

}  // namespace faultline
