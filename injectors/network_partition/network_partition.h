#pragma once
#include "injectors/injector.h"

namespace faultline {
// Cuts this host's traffic to and from given addresses and ports (drop or reject) with an
// nftables table of its own, deleted at the end; SSH (TCP port 22) is never cut.
InjectorDescriptor network_partition_descriptor();
}  // namespace faultline
