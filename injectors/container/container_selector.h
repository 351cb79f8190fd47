#pragma once
// Which containers a target group means (`containers:` or `pods:` in a scenario), as plain data:
// the scenario parser builds it, the agent's wire carries it, and containers/ resolves it on the
// host that runs the containers. Every criterion given must match (AND).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "injectors/params/params.h"

namespace faultline {

// The runtimes faultline can ask; "auto" asks each one that answers on this host.
inline constexpr std::string_view kContainerRuntimes[] = {"auto", "docker", "podman",
                                                          "containerd", "cri-o"};

// The labels the kubelet puts on every CRI container: a pod selector is a label selector.
inline constexpr std::string_view kPodNamespaceLabel = "io.kubernetes.pod.namespace";
inline constexpr std::string_view kPodNameLabel = "io.kubernetes.pod.name";
inline constexpr std::string_view kPodContainerLabel = "io.kubernetes.container.name";

struct ContainerSelector {
  std::string runtime = "auto";
  std::optional<std::string> name;   // exactly, or a glob with '*' ("checkout-*")
  std::optional<std::string> id;     // the full id or a prefix of at least 4 characters
  std::optional<std::string> image;  // exactly, or a glob; a tag-less name matches any tag
  std::map<std::string, std::string> labels;  // each must be present with this value
  // Set from `pods:` (the kubelet's labels); the pod name may be a glob.
  std::optional<std::string> pod_namespace;
  std::optional<std::string> pod_name;
  std::optional<std::string> pod_container;
  Count count{.mode = Count::Mode::All};  // how many of the matching containers

  bool empty() const {
    return !name && !id && !image && labels.empty() && !pod_namespace && !pod_name &&
           !pod_container;
  }
  bool selects_pods() const { return pod_namespace || pod_name || pod_container; }
  // "runtime=docker name=web label app=web".
  std::string describe() const;
};

// Containers that no fault may touch: the scenario's blast_radius.protected_containers and, on
// faultline-agent, its policy.protected_containers. A container is protected when every
// criterion of one entry matches it (count is ignored).
struct ContainerProtection {
  std::vector<ContainerSelector> selectors;     // the scenario's
  std::vector<ContainerSelector> agent_policy;  // the agent's own, which no controller overrides
};

// Glob matching for names and images: '*' matches any run of characters, nothing else is special.
bool glob_matches(std::string_view pattern, std::string_view text);

}  // namespace faultline
