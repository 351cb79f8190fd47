#pragma once
// Named network namespaces as iproute2 keeps them: /run/netns/NAME is a bind mount of the
// namespace, so `ip netns exec`, `ip -n` and faultline all see the same ones.
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline::lab {

inline constexpr const char* kNetnsDir = "/run/netns";

Result<void> create_named_netns(const std::string& name);
// Unmounts and removes /run/netns/NAME; false when it did not exist. The namespace itself goes
// when the last process in it has gone.
Result<bool> delete_named_netns(const std::string& name);
// Every name under /run/netns.
std::vector<std::string> named_netns_list();

}  // namespace faultline::lab
