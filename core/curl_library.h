#pragma once
// libcurl, loaded on first use rather than at start-up: it pulls in some thirty shared
// libraries (TLS, LDAP, Kerberos, SSH, ...), which tripled the start-up time of every faultline
// command, while only scenarios with an HTTP probe need it.
#include <curl/curl.h>

#include "core/result.h"

namespace faultline {

struct CurlLibrary {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  void (*easy_reset)(CURL* handle);
  void (*easy_cleanup)(CURL* handle);
  const char* (*easy_strerror)(CURLcode code);
};

// Loads libcurl.so.4 once (thread-safe) and initialises it; the error says what is missing.
Result<const CurlLibrary*> curl_library();

}  // namespace faultline
