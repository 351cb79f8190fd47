// Messages built by hand with libnl's message helpers (as netem's are): libnl's link objects
// cannot create a veth peer inside a namespace given by descriptor.
#include "controller/lab/links.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "injectors/network/route_socket.h"

namespace faultline::lab {
namespace {

struct MessageDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Message = std::unique_ptr<nl_msg, MessageDeleter>;

Result<Message> new_message(int type, int flags, const void* header, size_t size) {
  Message msg(nlmsg_alloc_simple(type, flags));
  if (!msg || nlmsg_append(msg.get(), const_cast<void*>(header), size, NLMSG_ALIGNTO) < 0)
    return fail("cannot build a netlink message");
  return msg;
}

Result<void> send(Message msg, const std::string& what) {
  RouteSocket socket = FL_TRY(RouteSocket::open());
  return socket.request(msg.release(), what);
}

Result<in_addr> parse_ipv4(const std::string& text) {
  in_addr address{};
  if (inet_pton(AF_INET, text.c_str(), &address) != 1)
    return fail("'{}' is not an IPv4 address", text);
  return address;
}

}  // namespace

Result<int> link_index(const std::string& name) {
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return fail("no network interface '{}': {}", name, std::strerror(errno));
  return static_cast<int>(index);
}

std::vector<std::string> link_names() {
  std::vector<std::string> names;
  struct if_nameindex* all = if_nameindex();
  for (struct if_nameindex* i = all; i != nullptr && i->if_index != 0; ++i)
    names.push_back(i->if_name);
  if (all != nullptr) if_freenameindex(all);
  return names;
}

Result<int> create_bridge(const std::string& name) {
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  Message msg = FL_TRY(new_message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header));
  nlattr* info = nullptr;
  if (nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0 ||
      (info = nla_nest_start(msg.get(), IFLA_LINKINFO)) == nullptr ||
      nla_put_string(msg.get(), IFLA_INFO_KIND, "bridge") < 0)
    return fail("cannot build the request for bridge {}", name);
  nla_nest_end(msg.get(), info);
  FL_TRY_VOID(send(std::move(msg), "create bridge " + name));
  return link_index(name);
}

Result<int> create_veth_into(const std::string& name, int master, int peer_netns_fd,
                             const std::string& peer_name) {
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  Message msg = FL_TRY(new_message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header));
  nl_msg* m = msg.get();
  const auto build = [&]() -> bool {
    if (nla_put_string(m, IFLA_IFNAME, name.c_str()) < 0) return false;
    if (nla_put_u32(m, IFLA_MASTER, static_cast<uint32_t>(master)) < 0) return false;
    nlattr* info = nla_nest_start(m, IFLA_LINKINFO);
    if (info == nullptr || nla_put_string(m, IFLA_INFO_KIND, "veth") < 0) return false;
    nlattr* data = nla_nest_start(m, IFLA_INFO_DATA);
    nlattr* peer = data == nullptr ? nullptr : nla_nest_start(m, VETH_INFO_PEER);
    if (peer == nullptr) return false;
    // VETH_INFO_PEER holds an ifinfomsg of its own, then the peer's attributes.
    ifinfomsg peer_header{};
    peer_header.ifi_family = AF_UNSPEC;
    if (nlmsg_append(m, &peer_header, sizeof peer_header, NLMSG_ALIGNTO) < 0) return false;
    if (nla_put_string(m, IFLA_IFNAME, peer_name.c_str()) < 0) return false;
    if (nla_put_u32(m, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd)) < 0) return false;
    nla_nest_end(m, peer);
    nla_nest_end(m, data);
    nla_nest_end(m, info);
    return true;
  };
  if (!build()) return fail("cannot build the request for veth {}", name);
  FL_TRY_VOID(send(std::move(msg), "create veth " + name));
  return link_index(name);
}

Result<void> set_link_up(int ifindex, const std::string& name) {
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = ifindex;
  header.ifi_flags = IFF_UP;
  header.ifi_change = IFF_UP;
  Message msg = FL_TRY(new_message(RTM_NEWLINK, 0, &header, sizeof header));
  return send(std::move(msg), "set " + name + " up");
}

Result<void> add_ipv4_address(int ifindex, const std::string& address, int prefix_length) {
  const in_addr local = FL_TRY(parse_ipv4(address));
  ifaddrmsg header{};
  header.ifa_family = AF_INET;
  header.ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<uint32_t>(ifindex);
  Message msg = FL_TRY(new_message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header));
  // The broadcast address as `ip addr add ... brd +` would set it.
  const uint32_t host_mask = prefix_length >= 32 ? 0 : (0xffffffffu >> prefix_length);
  const in_addr broadcast{local.s_addr | htonl(host_mask)};
  if (nla_put(msg.get(), IFA_LOCAL, sizeof local, &local) < 0 ||
      nla_put(msg.get(), IFA_ADDRESS, sizeof local, &local) < 0 ||
      nla_put(msg.get(), IFA_BROADCAST, sizeof broadcast, &broadcast) < 0)
    return fail("cannot build the request for address {}", address);
  return send(std::move(msg), fmt::format("add address {}/{}", address, prefix_length));
}

Result<void> add_default_route(const std::string& gateway, int ifindex) {
  const in_addr via = FL_TRY(parse_ipv4(gateway));
  rtmsg header{};
  header.rtm_family = AF_INET;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  header.rtm_scope = RT_SCOPE_UNIVERSE;
  header.rtm_type = RTN_UNICAST;
  Message msg =
      FL_TRY(new_message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &header, sizeof header));
  if (nla_put(msg.get(), RTA_GATEWAY, sizeof via, &via) < 0 ||
      nla_put_u32(msg.get(), RTA_OIF, static_cast<uint32_t>(ifindex)) < 0)
    return fail("cannot build the request for the default route");
  return send(std::move(msg), "add default route via " + gateway);
}

Result<bool> delete_link(const std::string& name) {
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return false;
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = static_cast<int>(index);
  Message msg = FL_TRY(new_message(RTM_DELLINK, 0, &header, sizeof header));
  FL_TRY_VOID(send(std::move(msg), "delete link " + name));
  return true;
}

}  // namespace faultline::lab
