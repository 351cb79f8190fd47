#pragma once
// The nftables table of a dns fault: DNS queries sent in its network namespace (UDP and TCP to
// port 53, IPv4 and IPv6, to any resolver, a local stub such as 127.0.0.53 or ::1 included) are
// redirected to the responder's ports; the responder's own upstream queries, which carry its
// mark, are not. Pure: nothing here touches the host.
#include <cstdint>
#include <string>
#include <string_view>

namespace faultline {

// The responder's listening ports; 0 where that family could not be served (no IPv6 in the
// namespace), which leaves that family's queries alone.
struct ResponderPorts {
  uint16_t udp4 = 0;
  uint16_t tcp4 = 0;
  uint16_t udp6 = 0;
  uint16_t tcp6 = 0;
};

// SO_MARK of the responder's upstream sockets ("FLDS"): the table lets them through untouched.
inline constexpr uint32_t kResponderMark = 0x464c4453;

// One transaction that creates `table` (family inet) with a nat output chain at dstnat priority
// (-100), a rule that lets the mark through, and one counted redirect per served port.
std::string dns_redirect_script(std::string_view table, const ResponderPorts& ports);

}  // namespace faultline
