#include "core/curl_library.h"

#include "core/loaded_library.h"

namespace faultline {
namespace {

Result<CurlLibrary> load() {
  void* handle = FL_TRY(open_library("libcurl.so.4", "HTTP probes and container runtimes' APIs need libcurl", "libcurl4"));
  CurlLibrary c{};
  const bool ok = bind_function(handle, "curl_global_init", c.global_init) &&
                  bind_function(handle, "curl_easy_init", c.easy_init) &&
                  bind_function(handle, "curl_easy_setopt", c.easy_setopt) &&
                  bind_function(handle, "curl_easy_perform", c.easy_perform) &&
                  bind_function(handle, "curl_easy_getinfo", c.easy_getinfo) &&
                  bind_function(handle, "curl_easy_reset", c.easy_reset) &&
                  bind_function(handle, "curl_easy_cleanup", c.easy_cleanup) &&
                  bind_function(handle, "curl_easy_strerror", c.easy_strerror);
  if (!ok) return fail("libcurl.so.4 lacks a function faultline needs: {}", dlerror());
  if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return fail("libcurl failed to initialise");
  return c;
}

}  // namespace
Result<const CurlLibrary*> curl_library() {
  static const Result<CurlLibrary> loaded = load();
  if (!loaded) return std::unexpected(loaded.error());
  return &*loaded;
}

}  // namespace faultline
