#pragma once
// Links, addresses and routes over rtnetlink, in the network namespace of the calling thread
// (run them through NetnsHandle::run for another one). No libnl type appears here.
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline::lab {

// The ifindex of `name`, or an error naming it.
Result<int> link_index(const std::string& name);
// Every link name in this namespace.
std::vector<std::string> link_names();

Result<int> create_bridge(const std::string& name);
// A veth pair: `name` here, enslaved to `master`, and its peer created directly inside the
// namespace open as `peer_netns_fd` under the name `peer_name`.
Result<int> create_veth_into(const std::string& name, int master, int peer_netns_fd,
                             const std::string& peer_name);
Result<void> set_link_up(int ifindex, const std::string& name);
Result<void> add_ipv4_address(int ifindex, const std::string& address, int prefix_length);
Result<void> add_default_route(const std::string& gateway, int ifindex);
// Deletes the link called `name`; false when there is none (already gone). Deleting one end
// of a veth pair deletes the other.
Result<bool> delete_link(const std::string& name);

}  // namespace faultline::lab
