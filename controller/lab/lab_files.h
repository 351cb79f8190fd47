#pragma once
// What `lab up` writes under its directory: certificates (a CA, lab-i per host with its address
// as IP SAN, the controller's), one agent config per host and the controller's inventory.
#include <string>

#include "controller/lab/layout.h"
#include "core/result.h"

namespace faultline::lab {

// The agent config of host `index` (docs/agent.md), as YAML text.
std::string agent_config_yaml(const LabPaths& paths, int index);
// The inventory of `hosts` lab hosts (docs/agent.md), as YAML text.
std::string inventory_yaml(const LabPaths& paths, int hosts);

// Makes DIR/{certs,agents,state,logs,run} and writes every file. The CA in DIR/certs is kept
// when it exists; host and controller certificates are made again.
Result<void> write_lab_files(const LabPaths& paths, int hosts);

}  // namespace faultline::lab
