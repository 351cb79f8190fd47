#pragma once
// The checks that need every part of a scenario read first: names that point at other parts,
// and whether the run fits its blast radius.
#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/scenario/scenario.h"
#include "yaml/yaml_reader.h"

namespace faultline::scenario_parts {

// What reading the parts left for these checks.
struct ParseNotes {
  // Process probes that name a target group: the index in steady_state, and where the name is.
  std::vector<std::pair<size_t, SourceLocation>> probe_targets;
  // Where each stop_when condition names its probe (the condition itself when it names none).
  std::vector<SourceLocation> stop_probe_at;
  std::vector<yaml::Node> fault_nodes;      // the node each of Scenario::faults was read from
  bool after_given = false;                 // whether phases.after was given
  std::set<std::string> selector_reported;  // target groups whose `processes` had an error
};

// Cross references and the run's length, once every part is read. Completes `s` too: a process
// probe that names a target group gets the group's selector; phases.after, when not given, is
// recovery.within.
void check_whole(YamlReader& r, const yaml::Node& root, Scenario& s, const ParseNotes& notes);

}  // namespace faultline::scenario_parts
