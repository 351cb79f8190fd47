#pragma once
// Turning a selector into the processes a fault may touch: the blast radius is enforced here, in
// the path every process fault takes, not only in the planner.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/result.h"
#include "injectors/params/params.h"
#include "injectors/process/selector.h"

namespace faultline {

// Processes no fault may touch, beyond those that are always protected (pid 1, kernel threads,
// faultline itself and its ancestors such as the shell that started it, and sshd).
struct Protection {
  std::vector<ProcessSelector> selectors;  // the scenario's blast_radius.protected
  // Set by faultline-agent from its own config, which no controller can override.
  std::vector<ProcessSelector> agent_policy;  // policy.protected_processes
  std::optional<uint64_t> only_netns;  // scope.netns: own; the inode of the agent's namespace
  // The cgroups of the protected containers found on this host (containers/resolve.h,
  // protected_container_cgroups): a fault aimed at the host's processes spares theirs too.
  struct ContainerCgroup {
    std::string cgroup;  // cgroup v2 path; the container's processes are in it or below
    std::string why;     // "inside protected docker container db (3f2a9c1b7d0e): ..."
  };
  std::vector<ContainerCgroup> container_cgroups;
};

// The inode of a process's network namespace; nullopt when it cannot be read (it exited).
std::optional<uint64_t> netns_inode(pid_t pid);

struct Excluded {
  ProcessInfo process;
  std::string reason;
};

struct Resolution {
  std::vector<ProcessInfo> matched;  // eligible: matched and not protected
  std::vector<Excluded> excluded;    // matched but protected
};

// Why `p` is protected, or "" when it is not.
std::string protection_reason(const ProcessInfo& p, const Protection& protection,
                              const std::vector<ProcessMatcher>& protected_matchers,
                              const std::vector<pid_t>& self_and_ancestors);

Result<Resolution> resolve_processes(const ProcessSelector& selector, const Protection& protection);

// Picks `count` of the eligible processes (at random with `rng`, in pid order after picking) and
// refuses when that is more than `max_processes` (0: no limit) or when nothing matches.
Result<std::vector<ProcessInfo>> choose_targets(const Resolution& resolution, const Count& count,
                                                int64_t max_processes, std::mt19937_64& rng,
                                                const ProcessSelector& selector);

}  // namespace faultline
