#pragma once
// The blast-radius verdict for a scenario against this host as it is now: which processes each
// fault would touch, which are excluded as protected, and whether the run stays inside its
// bounds. `plan` prints it; `run` refuses to start when it fails.
#include <string>
#include <vector>

#include "controller/plan/timeline.h"
#include "containers/resolve.h"
#include "controller/scenario/scenario.h"
#include "injectors/process/targets.h"

namespace faultline {

// One eligible container of a fault's target, with the processes the fault could pick in it.
struct ContainerReach {
  ContainerScope container;
  Resolution processes;  // for kinds that target processes
  int64_t would_affect = 0;
};

struct FaultReach {
  size_t fault = 0;
  // On inventory hosts: their agents check the kind, the processes and max_processes there,
  // when the fault starts; nothing about this host applies.
  bool remote = false;
  bool targets_processes = false;
  Resolution resolution;  // eligible and protected matches, now
  int64_t would_affect = 0;
  // A target with containers: which runtimes answered, the containers excluded, each eligible
  // one (the run picks `would_affect_containers` of them).
  std::optional<ContainerResolution> containers;
  std::vector<ContainerReach> container_reach;
  int64_t would_affect_containers = 0;
  // A resource kind: what it would take on this host (its reach_check), one line per container
  // for a container target, else one.
  std::vector<std::string> resources;
  std::string problem;  // "" when within bounds
};

struct BlastRadiusVerdict {
  bool ok = true;
  std::vector<FaultReach> faults;
  std::vector<std::string> problems;  // every reason the run is refused
};

BlastRadiusVerdict check_blast_radius(const Scenario& scenario, const Timeline& timeline);

}  // namespace faultline
