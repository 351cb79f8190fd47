#pragma once
// Before a run touches any host: every agent it needs answers, and can do what the scenario asks
// of it (the kind is supported and allowed there, the duration within its policy). The same
// description of each agent is what `faultline agents` prints.
#include <string>
#include <vector>

#include "controller/fleet/agent_client.h"
#include "controller/fleet/agent_pool.h"
#include "controller/inventory/inventory.h"
#include "controller/plan/host_plan.h"

namespace faultline {

struct AgentHealth {
  std::string name;
  std::string address;
  Result<AgentDescription> description = fail("not asked");
  Duration round_trip{};
};

// Asks every agent at once through `pool`; one entry per agent, in the order given.
std::vector<AgentHealth> describe_agents(AgentPool& pool, const std::vector<Agent>& agents,
                                         Duration timeout);

// Every reason the run cannot start on its hosts, one line each; empty when it can.
// `lease` is the run's: an agent caps leases at its lease.max, so a longer one would end every
// fault early.
// The connections made here stay in `pool` for the run.
std::vector<std::string> preflight_problems(AgentPool& pool, const Scenario& scenario,
                                            const HostPlan& plan, const Inventory& inventory,
                                            Duration lease);

}  // namespace faultline
