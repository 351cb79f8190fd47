#pragma once
// Mutual TLS for the agent API: the agent requires a client certificate that chains to its CA,
// and the controller requires the agent's certificate to chain to the same CA and to name the
// agent. Plaintext exists only for a loopback address, and says so in the log.
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "core/result.h"

namespace faultline {

struct ClientTls {
  std::string ca;
  std::string cert;
  std::string key;
};

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const AgentConfig& config);
Result<std::shared_ptr<grpc::ChannelCredentials>> client_credentials(const ClientTls& tls);

// A PEM file's text; the error names the file and why it cannot be used.
Result<std::string> read_pem(const std::string& path, std::string_view what);

}  // namespace faultline
