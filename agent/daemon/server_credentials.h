#pragma once
// Mutual TLS for the agent API, the agent's side: it requires a client certificate that chains
// to its CA. Plaintext exists only for a loopback address (agent_config.cpp refuses any other),
// and the agent says so in its log.
#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "agent/daemon/agent_config.h"
#include "core/result.h"

namespace faultline {

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const AgentConfig& config);

}  // namespace faultline
