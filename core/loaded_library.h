#pragma once
// A shared library opened when a feature first needs it (dlopen) rather than when the program
// starts: libcurl for HTTP probes, libnftables for partitions. Each brings several libraries of
// its own that most runs, and an idle agent, never use.
#include <dlfcn.h>

#include <string_view>

#include "core/result.h"

namespace faultline {

// Opens `soname` for `needed_by` ("HTTP probes need libcurl"); the error says which package
// installs it. The library stays loaded for the life of the process.
inline Result<void*> open_library(const char* soname, std::string_view needed_by,
                                  std::string_view package) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return fail("{}, which could not be loaded ({}); install it with 'apt-get install {}'",
                needed_by, dlerror(), package);
  return handle;
}

// Sets `out` to the function `name` of `handle`; false when the library lacks it.
template <class F>
bool bind_function(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  return out != nullptr;
}

}  // namespace faultline
