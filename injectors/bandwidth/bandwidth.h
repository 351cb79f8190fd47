#pragma once
#include "injectors/injector.h"
#include "injectors/network/tc_tree.h"

namespace faultline {
// Limits the bandwidth of the scoped traffic with a token bucket (tbf), over netlink.
InjectorDescriptor bandwidth_descriptor();

// tbf's TCA_OPTIONS for a rate in bits per second and burst and limit in bytes.
struct BandwidthQdisc {
  uint64_t rate_bits = 0, burst = 0, limit = 0;
};
FaultQdisc make_tbf_qdisc(BandwidthQdisc options);
}  // namespace faultline
