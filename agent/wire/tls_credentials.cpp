#include "agent/wire/tls_credentials.h"

#include <fstream>
#include <sstream>

namespace faultline {

Result<std::string> read_pem(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read the {} '{}': {}", what, path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos)
    return fail("the {} '{}' is not a PEM file (no -----BEGIN line); `faultline certs` makes "
                "them",
                what, path);
  return pem;
}

Result<std::shared_ptr<grpc::ChannelCredentials>> client_credentials(const ClientTls& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = FL_TRY(read_pem(tls.ca, "CA certificate"));
  options.pem_private_key = FL_TRY(read_pem(tls.key, "controller key"));
  options.pem_cert_chain = FL_TRY(read_pem(tls.cert, "controller certificate"));
  return grpc::SslCredentials(options);
}

}  // namespace faultline
