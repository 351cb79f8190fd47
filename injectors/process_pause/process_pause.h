#pragma once
#include "injectors/injector.h"

namespace faultline {
// Pauses matching processes (SIGSTOP, or the cgroup v2 freezer for a whole cgroup) and always
// resumes them: at the end, on abort, on Ctrl-C.
InjectorDescriptor process_pause_descriptor();
}  // namespace faultline
