#pragma once
// memory_pressure's parameters as data, and the checks between them.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/duration.h"
#include "injectors/params/params.h"
#include "injectors/process/selector.h"

namespace faultline {

std::span<const ParamSpec> memory_pressure_params();

std::vector<std::string> memory_pressure_cross_check(const Params& params,
                                                     std::optional<Duration> duration,
                                                     const ProcessSelector& selector);

}  // namespace faultline
