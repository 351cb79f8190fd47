#pragma once
// Host names, probe phases and status codes may each be one value or a list; hosts and probes
// read them alike, keeping each item's node so that a bad item is pointed at.
#include <string>
#include <utility>
#include <vector>

#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// A scalar or a list of scalars, each with its own node; an item that is not a scalar is
// reported and left out.
std::vector<std::pair<std::string, yaml::Node>> scalar_items(YamlReader& r, const yaml::Node& value,
                                                             const std::string& what);

}  // namespace faultline::scenario_parts
