#include "tls/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

namespace faultline::tls {

std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    // "error:0480006C:PEM routines::no start line" → "PEM routines::no start line"
    std::string_view line(buffer);
    const size_t colon = line.find(':', line.find(':') + 1);
    text += colon == std::string_view::npos ? line : line.substr(colon + 1);
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

std::unexpected<Error> openssl_failure(std::string_view what) {
  return fail("{}: {}", what, openssl_errors());
}

Result<X509Ptr> parse_certificate(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("cannot read the certificate");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return openssl_failure("not a PEM certificate");
  return cert;
}

Result<KeyPtr> parse_private_key(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure("cannot read the key");
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return openssl_failure("not an unencrypted PEM private key");
  return key;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buffer;
}

Result<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t) {
  std::tm utc{};
  if (ASN1_TIME_to_tm(t, &utc) != 1) return openssl_failure("unreadable certificate time");
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

}  // namespace faultline::tls
