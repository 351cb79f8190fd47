#pragma once
#include "injectors/injector.h"

namespace faultline {
// Delays, drops, duplicates, corrupts, reorders or rate-limits the scoped traffic with netem,
// over netlink.
InjectorDescriptor network_descriptor();
}  // namespace faultline
