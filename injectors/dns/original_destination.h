#pragma once
// Where a query was sent before nftables redirected it to the responder: the resolver to forward
// it to. Both look in the kernel's connection tracking, in the network namespace of the calling
// thread (the redirect is a NAT, so conntrack holds the original tuple).
#include "core/result.h"
#include "injectors/dns/endpoint.h"

namespace faultline {

// For an accepted TCP connection: SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6).
Result<Endpoint> tcp_original_destination(int fd, int family);

// For a UDP datagram that arrived at `local` (its destination after the redirect: the address
// it was received on and the responder's port) from `peer`: a conntrack lookup of the reply
// tuple (local -> peer) over NETLINK_NETFILTER, which returns the original tuple.
Result<Endpoint> udp_original_destination(const Endpoint& local, const Endpoint& peer);

}  // namespace faultline
