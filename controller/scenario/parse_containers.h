#pragma once
// A target group's `containers:` and `pods:` (containers selected by the kubelet's labels), and
// the entries of blast_radius.protected_containers.
#include <string>

#include "injectors/container/container_selector.h"
#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// `node` is the value of `containers:` (pods = false) or `pods:` (pods = true); `what` names it
// in messages ("target 'web'.containers"). Each problem is reported at its place.
ContainerSelector parse_containers(YamlReader& r, const yaml::Node& node, const std::string& what,
                                   bool pods);

// An entry of blast_radius.protected_containers: the same keys as `containers:`, no count.
ContainerSelector parse_protected_container(YamlReader& r, const yaml::Node& node,
                                            const std::string& what);

}  // namespace faultline::scenario_parts
