#pragma once
// The agent's own policy (agent_config's policy: and scope:), which no controller can override:
// the kinds it offers, and whether it takes one more fault.
#include <cstddef>
#include <vector>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/service_types.h"
#include "agent/local/local_agent.h"

namespace faultline {

struct KindSupport {
  std::string kind;
  bool supported = false;
  std::string reason;
};

// Every kind this build has, and whether this host and this agent's policy allow it.
std::vector<KindSupport> kinds_offered(const AgentConfig& config);

// Refused, with the policy's words, or ok. `busy` counts the faults that are active, being
// applied or having their targets found: each counts against policy.max_faults.
ServiceResult<void> check_policy(const AgentConfig& config, const ApplyInput& in,
                                 const FaultRequest& request, size_t busy);

}  // namespace faultline
