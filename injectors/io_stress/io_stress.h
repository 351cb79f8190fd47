#pragma once
#include "injectors/injector.h"

namespace faultline {
// Loads a filesystem's disk with direct-I/O readers and writers in a cgroup of their own, and
// reports the throughput and latency they measured.
InjectorDescriptor io_stress_descriptor();
}  // namespace faultline
