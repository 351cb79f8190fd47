#pragma once
// Targets, blast_radius.protected and process probes select processes alike; one reader keeps
// their keys, limits and messages the same in all three.
#include <string_view>

#include "injectors/process/selector.h"
#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// The selector in the mapping `node`, after reporting each problem with it (unknown keys, empty
// or too long fields, a bad cmdline regex, a relative cgroup); `what` names it in messages.
ProcessSelector parse_selector(YamlReader& r, const yaml::Node& node, std::string_view what);

}  // namespace faultline::scenario_parts
