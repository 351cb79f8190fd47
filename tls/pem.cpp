#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/certs.h"

namespace faultline::tls {

Result<std::string> read_pem_file(const std::string& path) {
  constexpr off_t kMaxSize = 1 << 20;  // a certificate chain is a few KiB
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fail("cannot read '{}': {}", path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return fail("cannot read '{}': it is a directory", path);
  if (st.st_size > kMaxSize)
    return fail("'{}' is not a PEM file: {} bytes is too large for one", path, st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read '{}': {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.empty()) return fail("'{}' is empty; expected a PEM certificate or key", path);
  if (pem.find("-----BEGIN ") == std::string::npos)
    return fail(
        "'{}' is not a PEM file (no '-----BEGIN' line); DER files need converting: "
        "openssl x509 -inform der -in FILE -out FILE.pem",
        path);
  return pem;
}

}  // namespace faultline::tls
