#pragma once
// A probe that runs on another host: the check is made by that host's agent (RunProbe), so a
// scenario can check a service only that host can reach.
#include <memory>

#include "controller/fleet/agent_client.h"
#include "probes/probe.h"

namespace faultline {

std::unique_ptr<Probe> make_agent_probe(const ProbeSpec& spec, std::shared_ptr<AgentClient> agent);

}  // namespace faultline
