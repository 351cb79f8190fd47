#pragma once
// Mutual TLS for the agent API, the controller's side: it requires the agent's certificate to
// chain to the fleet's CA and to name the agent. The agent's side is
// agent/daemon/server_credentials.h.
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "core/result.h"

namespace faultline {

struct ClientTls {
  std::string ca;
  std::string cert;
  std::string key;
};

Result<std::shared_ptr<grpc::ChannelCredentials>> client_credentials(const ClientTls& tls);

// A PEM file's text; the error names the file and why it cannot be used.
Result<std::string> read_pem(const std::string& path, std::string_view what);

}  // namespace faultline
