#include "agent/daemon/fault_request.h"

#include <unistd.h>

#include <algorithm>

#include "injectors/container/container_limits.h"
#include "injectors/process/targets.h"

namespace faultline {
namespace {

// The request's containers part, checked as the process selector is: sizes and forms here, before
// anything looks for a container; the first problem names its field.
std::optional<std::string> containers_problem(const ApplyInput& in) {
  if (in.containers) {
    if (auto problem = container_selector_problem(*in.containers, "containers"))
      return problem->message;
    if (in.containers->empty())
      return "containers gives no name, id, image, labels or pod: it would select every "
             "container on the host";
    // Each container's own cgroup and network namespace are where the fault acts.
    if (in.selector.cgroup)
      return "selector.cgroup cannot be used with containers: the processes are picked in each "
             "container's own cgroup";
    if (in.params.contains("netns"))
      return "netns cannot be used with containers: the fault acts in each container's own "
             "network namespace";
  }
  if ((in.containers || in.max_containers != 0) &&
      (in.max_containers < 1 || in.max_containers > kMaxContainersPerFault))
    return fmt::format("max_containers {} is not 1 to {}", in.max_containers,
                       kMaxContainersPerFault);
  if (in.protected_containers.size() > kMaxProtectedSelectors)
    return fmt::format("protected_containers has {} entries; at most {} are taken",
                       in.protected_containers.size(), kMaxProtectedSelectors);
  for (size_t i = 0; i < in.protected_containers.size(); ++i) {
    const std::string what = fmt::format("protected_containers[{}]", i);
    const ContainerSelector& p = in.protected_containers[i];
    if (auto problem = container_selector_problem(p, what)) return problem->message;
    // A runtime alone would protect every container of it; the scenario refuses that too.
    if (p.empty()) return fmt::format("{} protects nothing; give name, id, image or labels", what);
  }
  return std::nullopt;
}

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

ServiceResult<FaultRequest> build_fault_request(const ApplyInput& in, const AgentConfig& config) {
  if (!valid_id(in.owner))
    return std::unexpected(invalid("owner must be 1 to 128 letters, digits, '.', '_', ':' or '-'"));
  if (!valid_id(in.fault_id))
    return std::unexpected(
        invalid("fault_id must be 1 to 128 letters, digits, '.', '_', ':' or '-'"));
  // Selector fields come from the network; the limits are the scenario parser's.
  if (auto too_long = oversized_selector_field(in.selector, "selector"))
    return std::unexpected(invalid(*too_long));
  if (auto problem = containers_problem(in)) return std::unexpected(invalid(*problem));
  const InjectorDescriptor* d = find_injector(in.kind);
  if (d == nullptr)
    return std::unexpected(invalid(fmt::format("unknown fault kind '{:.64}'; known kinds: {}",
                                               in.kind, fmt::join(injector_kinds(), ", "))));
  FaultRequest request;
  request.id = fault_key(in.owner, in.fault_id);
  request.kind = in.kind;
  request.selector = in.selector;
  request.duration = in.duration;
  request.seed = in.seed;
  request.max_processes = in.max_processes;
  // The same parser as a scenario file: the agent trusts no value the controller checked.
  std::vector<RawParam> raw;
  const SourceLocation at{fmt::format("fault '{}'", in.fault_id)};
  for (const auto& [k, v] : in.params) raw.push_back({k, v, at, at});
  ParsedParams parsed = parse_params(d->params, raw, at, in.kind);
  if (!parsed.errors.empty()) {
    std::vector<std::string> messages;
    for (const Diagnostic& e : parsed.errors) messages.push_back(e.message);
    return std::unexpected(invalid(fmt::format("{}", fmt::join(messages, "; "))));
  }
  request.params = std::move(parsed.params);
  if (in.selector.cmdline)
    if (auto m = ProcessMatcher::compile(in.selector); !m)
      return std::unexpected(invalid(m.error().message));
  // Both hold: the scenario's blast_radius.protected (wire.cpp checked it) adds to what the
  // agent's own policy protects, which stays as configured whatever the controller sends.
  request.protection.selectors = in.protected_processes;
  request.protection.agent_policy = config.policy.protected_processes;
  // The same for containers: the agent's policy.protected_containers go with every request.
  if (in.containers) {
    request.containers = in.containers;
    request.max_containers = in.max_containers;
  }
  request.container_protection.selectors = in.protected_containers;
  request.container_protection.agent_policy = config.policy.protected_containers;
  // Resource bounds: the scenario's, checked here as the scenario parser checks them, and the
  // agent's policy beside them (both hold).
  if (!in.max_memory.empty()) {
    auto bound = parse_memory_bound(in.max_memory);
    if (!bound)
      return std::unexpected(invalid(fmt::format("max_memory: {}", bound.error().message)));
    request.resource_bounds.max_memory = *bound;
  }
  request.resource_bounds.agent_max_memory = config.policy.max_memory;
  for (size_t i = 0; i < in.protected_paths.size(); ++i) {
    if (auto ok = check_protected_path_text(in.protected_paths[i]); !ok)
      return std::unexpected(
          invalid(fmt::format("protected_paths[{}]: {}", i, ok.error().message)));
    request.resource_bounds.protected_paths.push_back(
        {in.protected_paths[i], "blast_radius.protected_paths"});
  }
  for (const std::string& p : config.policy.protected_paths)
    request.resource_bounds.protected_paths.push_back({p, "the agent's policy.protected_paths"});
  if (config.scope_own_netns) {
    // Without its own namespace to compare against, the scope cannot be kept: refuse.
    request.protection.only_netns = netns_inode(getpid());
    if (!request.protection.only_netns)
      return std::unexpected(
          ServiceError{ServiceCode::Unavailable,
                       "scope.netns is 'own' but the agent cannot read its own network namespace"});
  }
  return request;
}

}  // namespace faultline
