#pragma once
// steady_state probes: each type's keys and expectations, held to the limits a probe is held to
// when it runs (probes/probe_limits.h), so that a scenario that validates can be probed.
#include <optional>

#include "controller/scenario/scenario.h"
#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// Reads one item of steady_state and appends it to s.steady_state, unless it is not a mapping
// or has not exactly one probe type. A process probe that names a target group gets the group's
// selector once every part is read (check_whole); for it, the place of that name is returned.
std::optional<SourceLocation> parse_probe(YamlReader& r, const yaml::Node& node, Scenario& s);

}  // namespace faultline::scenario_parts
