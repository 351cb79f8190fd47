#include "agent/daemon/server_credentials.h"

#include "agent/wire/tls_credentials.h"

namespace faultline {

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const AgentConfig& config) {
  if (!config.tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = FL_TRY(read_pem(config.tls->ca, "CA certificate"));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = FL_TRY(read_pem(config.tls->key, "agent key"));
  pair.cert_chain = FL_TRY(read_pem(config.tls->cert, "agent certificate"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

}  // namespace faultline
