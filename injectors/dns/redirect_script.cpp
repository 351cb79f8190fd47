#include "injectors/dns/redirect_script.h"

#include <fmt/format.h>

namespace faultline {

std::string dns_redirect_script(std::string_view table, const ResponderPorts& ports) {
  std::string s = fmt::format("create table inet {}\n", table);
  // Output only: the queries of processes in this namespace. A prerouting hook would also catch
  // queries that other hosts send to a resolver running here, which is another fault.
  s += fmt::format(
      "add chain inet {} output {{ type nat hook output priority -100; policy accept; }}\n", table);
  s += fmt::format("add rule inet {} output meta mark {:#x} accept\n", table, kResponderMark);
  const struct {
    std::string_view family, protocol;
    uint16_t port;
  } redirects[] = {{"ipv4", "udp", ports.udp4},
                   {"ipv4", "tcp", ports.tcp4},
                   {"ipv6", "udp", ports.udp6},
                   {"ipv6", "tcp", ports.tcp6}};
  for (const auto& r : redirects)
    if (r.port != 0)
      s += fmt::format(
          "add rule inet {} output meta nfproto {} {} dport 53 counter redirect to :{}\n", table,
          r.family, r.protocol, r.port);
  return s;
}

}  // namespace faultline
