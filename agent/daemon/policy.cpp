#include "agent/daemon/policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace faultline {

std::vector<KindSupport> kinds_offered(const AgentConfig& config) {
  std::vector<KindSupport> out;
  for (const InjectorDescriptor& d : all_injectors()) {
    KindSupport k{std::string(d.kind), true, ""};
    const auto& allowed = config.policy.allowed_kinds;
    if (!allowed.empty() && !allowed.contains(k.kind)) {
      k.supported = false;
      k.reason = fmt::format("not allowed by this agent's policy.allowed_kinds ({})", config.file);
    } else if (const Support s = d.supported(); !s.ok) {
      k.supported = false;
      k.reason = s.reason;
    }
    out.push_back(std::move(k));
  }
  return out;
}

ServiceResult<void> check_policy(const AgentConfig& config, const ApplyInput& in,
                                 const FaultRequest& request, size_t busy) {
  const AgentPolicy& p = config.policy;
  if (!p.allowed_kinds.empty() && !p.allowed_kinds.contains(in.kind))
    return std::unexpected(refused(
        fmt::format("refused by this agent's policy: {} is not in policy.allowed_kinds ({})",
                    in.kind, fmt::join(p.allowed_kinds, ", "))));
  if (in.duration && *in.duration > p.max_duration)
    return std::unexpected(refused(fmt::format(
        "refused by this agent's policy: duration {} is longer than policy.max_duration {}",
        format_duration(*in.duration), format_duration(p.max_duration))));
  if (request.params.has("interface")) {
    const std::string& itf = request.params.text("interface");
    if (std::find(p.protected_interfaces.begin(), p.protected_interfaces.end(), itf) !=
        p.protected_interfaces.end())
      return std::unexpected(refused(fmt::format(
          "refused by this agent's policy: interface {} is in policy.protected_interfaces", itf)));
  }
  // A lab agent acts in its own network namespace only; a named one would be another host's.
  if (config.scope_own_netns && request.params.has("netns"))
    return std::unexpected(
        refused("refused by this agent's scope: netns is not allowed when scope.netns is 'own'"));
  // A container has a network namespace of its own: not the agent's.
  if (config.scope_own_netns && in.containers)
    return std::unexpected(
        refused("refused by this agent's scope: containers are not allowed "
                "when scope.netns is 'own' (each has a network namespace of "
                "its own)"));
  if (busy >= static_cast<size_t>(p.max_faults))
    return std::unexpected(refused(
        fmt::format("refused by this agent's policy: {} faults are active, the policy.max_faults",
                    p.max_faults)));
  return {};
}

}  // namespace faultline
