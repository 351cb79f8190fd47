#pragma once
#include "injectors/injector.h"

namespace faultline {
// Sends a signal (SIGKILL by default) to some of the matching processes through pidfds, observes
// each one exit, and measures how long until a replacement process appears.
InjectorDescriptor process_kill_descriptor();
}  // namespace faultline
