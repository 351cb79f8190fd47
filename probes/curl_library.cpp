#include "probes/curl_library.h"

#include <dlfcn.h>

namespace faultline {
namespace {

template <class F>
bool bind(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  return out != nullptr;
}

Result<CurlLibrary> load() {
  void* handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return fail(
        "HTTP probes need libcurl, which could not be loaded ({}); install it with "
        "'apt-get install libcurl4'",
        dlerror());
  CurlLibrary c{};
  const bool ok = bind(handle, "curl_global_init", c.global_init) &&
                  bind(handle, "curl_easy_init", c.easy_init) &&
                  bind(handle, "curl_easy_setopt", c.easy_setopt) &&
                  bind(handle, "curl_easy_perform", c.easy_perform) &&
                  bind(handle, "curl_easy_getinfo", c.easy_getinfo) &&
                  bind(handle, "curl_easy_reset", c.easy_reset) &&
                  bind(handle, "curl_easy_cleanup", c.easy_cleanup) &&
                  bind(handle, "curl_easy_strerror", c.easy_strerror);
  if (!ok) return fail("libcurl.so.4 lacks a function faultline needs: {}", dlerror());
  if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return fail("libcurl failed to initialise");
  return c;  // the library stays loaded for the life of the process
}

}  // namespace

Result<const CurlLibrary*> curl_library() {
  static const Result<CurlLibrary> loaded = load();
  if (!loaded) return std::unexpected(loaded.error());
  return &*loaded;
}

}  // namespace faultline
