#pragma once
// A fault aimed at containers: prepare() resolves the request's container selector on this host
// and makes one fault of the requested kind per chosen container (FaultRequest::container set),
// and the rest of the life of the fault goes to each of them. Its undo plan is theirs, joined, so
// the state file holds every container's undo before anything is touched.
#include <memory>

#include "core/result.h"
#include "injectors/injector.h"

namespace faultline {

// For a request whose `containers` is set; the kind's own checks run as create_fault's do.
Result<std::unique_ptr<Fault>> create_container_faults(FaultRequest request);

}  // namespace faultline
