#pragma once
// The limits of a container selector, wherever one comes from (a scenario, a controller's Apply,
// the agent's own config): sizes that bound what the agent keeps and compares with every
// container on the host, a runtime it knows, and an id that can be one. The scenario parser and
// the agent check the same rules, so a selector that a scenario accepts passes an agent too.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "injectors/container/container_selector.h"

namespace faultline {

inline constexpr size_t kMaxContainerField = 255;  // a name, id, image, label key or value
inline constexpr size_t kMaxContainerLabels = 64;
// The scenario's limit on blast_radius.max_containers.
inline constexpr int64_t kMaxContainersPerFault = 100000;

struct ContainerFieldProblem {
  std::string field;    // the key at fault: "runtime", "name", "id", "image", "labels", ...
  std::string message;  // "containers.name is longer than 255 characters"
};

// The first problem of `s` (`what` names it: "containers", "protected_containers[2]"), or none.
// It does not ask for a criterion: an empty selector is the caller's to refuse, in its words.
std::optional<ContainerFieldProblem> container_selector_problem(const ContainerSelector& s,
                                                                std::string_view what);

}  // namespace faultline
