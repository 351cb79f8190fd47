#pragma once
// Sends a copy of a packet as it is, IP header included, to the packet's own destination: the
// userspace backend's duplicates. The sockets are made in the namespace of the thread that opens
// them and mark what they send with kUserspaceBypassMark, so the rules never queue a copy again.
// A copy of a received packet goes to a local address: the kernel routes it through loopback to
// the local socket, as a duplicate on ingress must arrive.
#include <cstdint>
#include <span>

#include "core/result.h"

namespace faultline {

class RawResender {
 public:
  // One raw socket per family (IPPROTO_RAW: the header is ours), in the calling thread's
  // network namespace.
  static Result<RawResender> open(uint32_t mark);
  RawResender(RawResender&& other) noexcept;
  RawResender& operator=(RawResender&& other) noexcept;
  ~RawResender();

  // Sends `packet` (from its IPv4 or IPv6 header on) to its destination address. `ifindex`
  // scopes an IPv6 link-local destination (the device the packet was seen on); 0 when unknown.
  // Returns the error number (0 when sent).
  int send(std::span<const uint8_t> packet, uint32_t ifindex) const;

 private:
  RawResender(int fd4, int fd6) : fd4_(fd4), fd6_(fd6) {}
  int fd4_ = -1, fd6_ = -1;
};

}  // namespace faultline
