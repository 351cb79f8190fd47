#pragma once
// The names of inventory hosts: what the inventory may call an agent and what a scenario's
// `hosts.names` and a probe's `on:` may refer to. They match a DNS name in the agent's
// certificate, so they are kept to what a DNS label allows (dots let a full name through).
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

inline constexpr size_t kMaxHostNameLength = 63;

// Why `name` cannot name a host, or nullopt when it can. E.g. "'web_1' is not a valid host
// name: use 1 to 63 letters, digits, '.' and '-' (did you mean 'web-1'?)".
std::optional<std::string> host_name_problem(std::string_view name);

}  // namespace faultline
