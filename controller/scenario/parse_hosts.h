#pragma once
// A target group's `hosts:`, the inventory hosts it acts on; blast_radius.max_host_percent reads
// a share of hosts the same way as `percent:` here.
#include <optional>
#include <string>
#include <string_view>

#include "controller/scenario/scenario.h"
#include "core/percent.h"
#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// The selection in `node`, the value of `hosts:`, after reporting each problem with it; `what`
// names it in messages ("target 'app'.hosts").
HostSelection parse_hosts(YamlReader& r, const yaml::Node& node, const std::string& what);

// A share of hosts, from 1% to 100% ("30%", "30", "12.5%"); nullopt when `map` has no `key` or
// its value was reported.
std::optional<Percent> host_share(YamlReader& r, const yaml::Node& map, std::string_view key,
                                  const std::string& what);

}  // namespace faultline::scenario_parts
