#include "injectors/container/container_limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace faultline {
namespace {

bool hex_id(std::string_view id) {
  return id.size() >= 4 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::optional<ContainerFieldProblem> container_selector_problem(const ContainerSelector& s,
                                                                std::string_view what) {
  if (std::find(std::begin(kContainerRuntimes), std::end(kContainerRuntimes), s.runtime) ==
      std::end(kContainerRuntimes))
    return ContainerFieldProblem{
        "runtime", fmt::format("{}.runtime '{:.64}' is not known; use auto, docker, podman, "
                               "containerd or cri-o",
                               what, s.runtime)};
  for (const auto& [key, value] : {std::pair{"name", &s.name},
                                   {"id", &s.id},
                                   {"image", &s.image},
                                   {"pod_namespace", &s.pod_namespace},
                                   {"pod_name", &s.pod_name},
                                   {"pod_container", &s.pod_container}})
    if (*value && (*value)->size() > kMaxContainerField)
      return ContainerFieldProblem{
          key, fmt::format("{}.{} is longer than {} characters", what, key, kMaxContainerField)};
  // containerd's ids are names chosen by their creator; the other runtimes' are hex.
  if (s.id && s.runtime != "containerd" && !hex_id(*s.id))
    return ContainerFieldProblem{
        "id", fmt::format("{}.id '{}' is not a container id: give at least 4 of its hex digits "
                          "(docker ps shows 12)",
                          what, *s.id)};
  if (s.labels.size() > kMaxContainerLabels)
    return ContainerFieldProblem{"labels",
                                 fmt::format("{}.labels has {} labels; at most {} are taken", what,
                                             s.labels.size(), kMaxContainerLabels)};
  for (const auto& [key, value] : s.labels) {
    if (key.empty() || key.size() > kMaxContainerField)
      return ContainerFieldProblem{
          "labels", fmt::format("{}.labels has a key of {} characters; a key is 1 to {}", what,
                                key.size(), kMaxContainerField)};
    if (value.size() > kMaxContainerField)
      return ContainerFieldProblem{
          "labels", fmt::format("{}.labels '{}' has a value longer than {} characters", what, key,
                                kMaxContainerField)};
  }
  return std::nullopt;
}

}  // namespace faultline
