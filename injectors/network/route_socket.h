#pragma once
// A NETLINK_ROUTE socket for traffic control: send one request and wait for the kernel's answer,
// or dump objects as raw messages. No libnl type appears in this header.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct nl_sock;
struct nl_msg;

namespace faultline {

// One netlink message as received: the header and its payload, copied.
struct RawMessage {
  uint16_t type = 0;
  std::vector<uint8_t> bytes;  // starting at the nlmsghdr
};

class RouteSocket {
 public:
  // A socket in the network namespace of the calling thread.
  static Result<RouteSocket> open();
  RouteSocket(RouteSocket&&) noexcept;
  RouteSocket& operator=(RouteSocket&&) noexcept;
  ~RouteSocket();

  // Sends `msg` (taking it) and waits for the acknowledgement; the error carries the kernel's
  // message, e.g. "Specified qdisc kind is unknown" as errno text plus the extended ack.
  Result<void> request(nl_msg* msg, const std::string& what);
  // The kind of a link ("ifb", "veth", ...; "" for a plain device such as a physical NIC).
  Result<std::string> link_kind(int ifindex);
  // RTM_GETQDISC / RTM_GETTCLASS / RTM_GETTFILTER dump for one interface (parent 0 = all).
  Result<std::vector<RawMessage>> dump(int type, int ifindex, uint32_t parent = 0);

  // While set, every request() of the calling thread is copied there as it is about to be sent
  // (before the socket numbers it). bench/netlink_vs_tc_bench replays them on a bare socket: the
  // floor that faultline's own apply and revert are measured against. nullptr ends it.
  static void tap_requests(std::vector<std::vector<uint8_t>>* tap);

 private:
  explicit RouteSocket(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_ = nullptr;
};

}  // namespace faultline
