#pragma once
#include "injectors/injector.h"

namespace faultline {
// Limits the bandwidth of the scoped traffic with a token bucket (tbf), over netlink.
InjectorDescriptor bandwidth_descriptor();
}  // namespace faultline
