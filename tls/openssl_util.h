#pragma once
// Owning handles for OpenSSL objects and OpenSSL's error queue as text. Private to tls/.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline::tls {

template <auto Free>
struct OpenSslDeleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, OpenSslDeleter<EXTENDED_KEY_USAGE_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OpenSslDeleter<BASIC_CONSTRAINTS_free>>;

// What OpenSSL's error queue says (emptying it), e.g. "PEM routines::no start line"; or
// "unknown OpenSSL error".
std::string openssl_errors();

// `what` followed by OpenSSL's reason, as an error.
std::unexpected<Error> openssl_failure(std::string_view what);

Result<X509Ptr> parse_certificate(std::string_view pem);
Result<KeyPtr> parse_private_key(std::string_view pem);

// Human and machine readable UTC time of an ASN1 time ("2027-04-01 12:00:00 UTC").
std::string format_time(std::chrono::system_clock::time_point t);
Result<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t);

}  // namespace faultline::tls
