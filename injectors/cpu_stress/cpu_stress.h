#pragma once
#include "injectors/injector.h"

namespace faultline {
// Keeps CPUs busy at a given load with worker processes confined to a cgroup of their own (where
// cgroup v2 is available); the workers die with faultline, and their load is measured from /proc.
InjectorDescriptor cpu_stress_descriptor();
}  // namespace faultline
