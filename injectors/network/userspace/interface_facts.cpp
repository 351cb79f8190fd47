#include "injectors/network/userspace/interface_facts.h"

// glibc's net/if.h before the kernel's headers: linux/libc-compat.h then skips linux/if.h's
// duplicate definitions.
#include <net/if.h>
// (keep this order)
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace faultline {

Result<InterfaceFacts> read_interface_facts(const std::string& interface) {
  InterfaceFacts facts;
  facts.ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  if (facts.ifindex == 0)
    return fail("interface '{}' does not exist in this network namespace (see 'ip link')",
                interface);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("cannot open a socket to read {}'s settings: {}", interface,
                          std::strerror(errno));
  ifreq req{};
  std::strncpy(req.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &req) == 0 && req.ifr_hwaddr.sa_family == ARPHRD_ETHER)
    facts.link_header_bytes = 14;
  ethtool_cmd cmd{};
  cmd.cmd = ETHTOOL_GSET;
  req.ifr_data = reinterpret_cast<char*>(&cmd);
  if (ioctl(fd, SIOCETHTOOL, &req) == 0) {
    const uint32_t mbit = ethtool_cmd_speed(&cmd);
    if (mbit != 0 && mbit != static_cast<uint32_t>(SPEED_UNKNOWN)) facts.speed_bits = uint64_t{mbit} * 1000000;
  }
  close(fd);
  return facts;
}

}  // namespace faultline
