#pragma once
// The checks of an Apply request before anything else looks at it: ids, the selector's sizes,
// a known kind, its parameters by the scenario parser's rules (the agent trusts no value the
// controller checked), and what the agent's config adds (its protected processes, its scope).
#include <string_view>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/service_types.h"
#include "agent/local/local_agent.h"

namespace faultline {

// Owner and fault ids travel in logs, file names and replies: [A-Za-z0-9._:-]{1,128}.
bool valid_id(std::string_view id);

// The request the LocalAgent takes, or why there is none (Invalid; Unavailable when the agent
// cannot keep its own scope).
ServiceResult<FaultRequest> build_fault_request(const ApplyInput& in, const AgentConfig& config);

}  // namespace faultline
